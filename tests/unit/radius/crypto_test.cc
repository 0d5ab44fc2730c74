#include "radius/crypto.h"

#include <algorithm>

#include <doctest/doctest.h>

#include "hex.h"

using namespace npsd::radius;
using npsd::test::hex;
using npsd::test::rfc2865_7_1_request;

namespace {
const std::string secret = "xyzzy5461";
const bytes rfc2865_7_1_accept = hex(
    "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00"
    "00 00 0e 06 c0 a8 01 03");
authenticator_t auth_of(const bytes& raw) {
  authenticator_t a;
  std::copy_n(raw.begin() + 4, 16, a.begin());
  return a;
}

packet access_request_with_ma() {
  packet p;
  p.identifier = 42;
  p.authenticator = random_authenticator();
  p.attributes.push_back({attr::message_authenticator, bytes(16, 0)});
  p.add(attr::user_name, std::string_view("alice"));
  return p;
}
}  // namespace

TEST_CASE("RFC 2865 7.1: the password hides to the published bytes and unhides back") {
  const auto req = *decode(rfc2865_7_1_request);
  const auto hidden = req.find(attr::user_password)->value;
  const auto clear = unhide_user_password(hidden, secret, req.authenticator);
  REQUIRE(clear);
  CHECK(std::string(clear->begin(), clear->end()) == "arctangent");
  CHECK(*hide_user_password(*clear, secret, req.authenticator) == hidden);
  const auto wrong = unhide_user_password(hidden, "other", req.authenticator);
  CHECK(std::string(wrong->begin(), wrong->end()) != "arctangent");
}

TEST_CASE("RFC 2865 7.1: the published Response Authenticator verifies") {
  CHECK(verify_response(rfc2865_7_1_accept, auth_of(rfc2865_7_1_request), secret, false) ==
        verify_result::ok);
  CHECK(verify_response(rfc2865_7_1_accept, auth_of(rfc2865_7_1_request), "wrong", false) ==
        verify_result::bad_authenticator);
  // signing the decoded reply again reproduces the published authenticator
  auto again = rfc2865_7_1_accept;
  std::fill_n(again.begin() + 4, 16, 0);
  sign_response(again, auth_of(rfc2865_7_1_request), secret);
  CHECK(again == rfc2865_7_1_accept);
  // a reply without Message-Authenticator fails when one is required
  CHECK(verify_response(rfc2865_7_1_accept, auth_of(rfc2865_7_1_request), secret, true) ==
        verify_result::missing_message_authenticator);
}

TEST_CASE("password hiding handles 16-byte blocks, padding and the 128-byte limit") {
  const auto ra = random_authenticator();
  for (std::size_t n : {0, 1, 15, 16, 17, 32, 100, 128}) {
    const bytes pw(n, 'p');
    const auto h = hide_user_password(pw, "s3cret", ra);
    REQUIRE(h);
    CHECK(h->size() == std::max<std::size_t>(16, (n + 15) / 16 * 16));
    CHECK(*unhide_user_password(*h, "s3cret", ra) == pw);
  }
  CHECK(hide_user_password(bytes(129, 'p'), "s", ra).error() == hiding_error::too_long);
  CHECK(unhide_user_password(bytes(15, 0), "s", ra).error() == hiding_error::bad_length);
  CHECK(unhide_user_password(bytes(17, 0), "s", ra).error() == hiding_error::bad_length);
  CHECK(unhide_user_password(bytes(144, 0), "s", ra).error() == hiding_error::bad_length);
}

TEST_CASE("Message-Authenticator on an Access-Request signs and verifies; tampering fails") {
  auto raw = *encode(access_request_with_ma());
  sign_request(raw, "testing123");
  CHECK(verify_request(raw, "testing123", true) == verify_result::ok);
  CHECK(verify_request(raw, "testing124", true) == verify_result::bad_message_authenticator);
  auto tampered = raw;
  tampered.back() ^= 1;
  CHECK(verify_request(tampered, "testing123", true) == verify_result::bad_message_authenticator);
  auto tampered_auth = raw;
  tampered_auth[4] ^= 1;
  CHECK(verify_request(tampered_auth, "testing123", true) ==
        verify_result::bad_message_authenticator);
}

TEST_CASE("a missing Message-Authenticator fails only when required, always for Status-Server") {
  packet p;
  p.authenticator = random_authenticator();
  p.add(attr::user_name, std::string_view("alice"));
  auto raw = *encode(p);
  CHECK(verify_request(raw, "k", true) == verify_result::missing_message_authenticator);
  CHECK(verify_request(raw, "k", false) == verify_result::ok);
  p.code = code::status_server;
  raw = *encode(p);
  CHECK(verify_request(raw, "k", false) == verify_result::missing_message_authenticator);
}

TEST_CASE("two Message-Authenticators, or one of the wrong length, are invalid") {
  auto p = access_request_with_ma();
  p.attributes.push_back({attr::message_authenticator, bytes(16, 0)});
  auto raw = *encode(p);
  sign_request(raw, "k");
  CHECK(verify_request(raw, "k", true) == verify_result::bad_message_authenticator);
  auto q = access_request_with_ma();
  q.attributes[0].value.resize(15);
  raw = *encode(q);
  CHECK(verify_request(raw, "k", true) == verify_result::bad_message_authenticator);
}

TEST_CASE("Accounting-Request authenticator: computed, verified, tampering detected") {
  packet p;
  p.code = code::accounting_request;
  p.identifier = 9;
  p.add_uint32(attr::acct_status_type, 1);
  p.add(attr::acct_session_id, std::string_view("abc"));
  auto raw = *encode(p);
  sign_request(raw, "acct-secret");
  CHECK(verify_request(raw, "acct-secret", true) == verify_result::ok);
  CHECK(verify_request(raw, "other", true) == verify_result::bad_authenticator);
  raw.back() ^= 0x20;
  CHECK(verify_request(raw, "acct-secret", true) == verify_result::bad_authenticator);

  // with a Message-Authenticator, computed over a zero authenticator field (RFC 5080 / 3579)
  p.attributes.push_back({attr::message_authenticator, bytes(16, 0)});
  raw = *encode(p);
  sign_request(raw, "acct-secret");
  CHECK(verify_request(raw, "acct-secret", false) == verify_result::ok);
}

TEST_CASE("reply signing: Message-Authenticator first, verified by the client side") {
  const auto ra = random_authenticator();
  packet r;
  r.code = code::access_accept;
  r.identifier = 3;
  r.attributes.push_back({attr::message_authenticator, bytes(16, 0)});
  r.add(attr::reply_message, std::string_view("welcome"));
  auto raw = *encode(r);
  sign_response(raw, ra, "k");
  CHECK(verify_response(raw, ra, "k", true) == verify_result::ok);
  auto other = ra;
  other[0] ^= 1;
  CHECK(verify_response(raw, other, "k", true) == verify_result::bad_authenticator);
}

TEST_CASE("salt encryption round-trips and matches the RFC 2548 layout") {
  const auto ra = random_authenticator();
  bytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  const auto enc = salt_encrypt(key, "secret", ra, 0x1234);
  REQUIRE(enc);
  CHECK(enc->size() == 2 + 48);  // 1 length byte + 32 key bytes, padded to 48
  CHECK((*enc)[0] == 0x92);      // high bit forced on
  CHECK((*enc)[1] == 0x34);
  CHECK(*salt_decrypt(*enc, "secret", ra) == key);
  const auto wrong = salt_decrypt(*enc, "other", ra);
  CHECK((!wrong || *wrong != key));

  // first block by hand: MD5(secret + RA + salt) XOR (len | key[0..14])
  const auto b1 = md5({as_bytes("secret"), ra, byte_view(*enc).subspan(0, 2)});
  CHECK(((*enc)[2] ^ b1[0]) == 32);
  CHECK(((*enc)[3] ^ b1[1]) == 0);

  const auto empty = salt_encrypt({}, "secret", ra);
  CHECK(salt_decrypt(*empty, "secret", ra)->empty());
  CHECK(salt_encrypt(bytes(240, 0), "s", ra).error() == hiding_error::too_long);
  CHECK(salt_decrypt(bytes(17, 0x80), "s", ra).error() == hiding_error::bad_length);
}

TEST_CASE("constant_time_equal compares values and lengths") {
  CHECK(constant_time_equal(bytes{1, 2}, bytes{1, 2}));
  CHECK_FALSE(constant_time_equal(bytes{1, 2}, bytes{1, 3}));
  CHECK_FALSE(constant_time_equal(bytes{1, 2}, bytes{1, 2, 3}));
}

TEST_CASE("HMAC-MD5 matches RFC 2104 test vector 2") {
  const auto mac = hmac_md5(as_bytes("Jefe"), {as_bytes("what do ya want for nothing?")});
  CHECK(bytes(mac.begin(), mac.end()) == hex("750c783e6ab0b503eaa86e310a5db738"));
}
