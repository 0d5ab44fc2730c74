#include "ldap/password_hash.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace npsd::ldap;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

hash_params fast_pbkdf2() { return hash_params{.iterations = 1000}; }
hash_params fast_scrypt() { return hash_params{.scheme = "scrypt", .scrypt_log_n = 10}; }

}  // namespace

TEST_CASE("pbkdf2-sha256 matches the RFC 7914 section 11 vectors") {
  auto k1 = detail::pbkdf2_sha256("passwd", bytes_of("salt"), 1, 64);
  REQUIRE(k1);
  CHECK(*k1 == from_hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"));
  auto k2 = detail::pbkdf2_sha256("Password", bytes_of("NaCl"), 80000, 64);
  REQUIRE(k2);
  CHECK(*k2 == from_hex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                        "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"));
}

TEST_CASE("scrypt matches the RFC 7914 section 12 vector") {
  auto k = detail::scrypt("password", bytes_of("NaCl"), 1024, 8, 16, 64);
  REQUIRE(k);
  CHECK(*k == from_hex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                       "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"));
}

TEST_CASE("PHC strings computed independently with `openssl kdf` verify") {
  // openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:'correct horse'
  //   -kdfopt hexsalt:000102030405060708090a0b0c0d0e0f -kdfopt iter:1000 PBKDF2
  const std::string pbkdf2 =
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODw$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ";
  // ... -kdfopt n:1024 -kdfopt r:8 -kdfopt p:1 SCRYPT
  const std::string scrypt =
      "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$nfkj3u1fRTHCea+fVr03sWV770kp5wLOLoEakziKhqE";
  CHECK(verify_password_hash(pbkdf2, "correct horse") == verify_outcome::match);
  CHECK(verify_password_hash(pbkdf2, "correct horsE") == verify_outcome::mismatch);
  CHECK(verify_password_hash(scrypt, "correct horse") == verify_outcome::match);
  CHECK(verify_password_hash(scrypt, "correct horse ") == verify_outcome::mismatch);
}

TEST_CASE("a stored hash that differs from the derived key only in its last byte is a mismatch") {
  // The KAT above with the last byte of the hash changed (...mGQ -> ...mGY: 0x64 -> 0x66).
  const std::string pbkdf2 =
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODw$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGY";
  REQUIRE(is_valid_password_hash(pbkdf2));
  CHECK(verify_password_hash(pbkdf2, "correct horse") == verify_outcome::mismatch);
  // The key is derived at the stored hash's length: a 30-byte PBKDF2 output is the prefix of
  // the 32-byte one, so this verifies.
  const std::string shorter =
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODw$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKu";
  REQUIRE(is_valid_password_hash(shorter));
  CHECK(verify_password_hash(shorter, "correct horse") == verify_outcome::match);
}

TEST_CASE("pbkdf2-sha256 hash then verify round trip; wrong password is a mismatch") {
  auto h = hash_password("s3cret!", fast_pbkdf2());
  REQUIRE(h);
  CHECK(h->rfind("$pbkdf2-sha256$i=1000$", 0) == 0);
  CHECK(is_valid_password_hash(*h));
  CHECK(verify_password_hash(*h, "s3cret!") == verify_outcome::match);
  CHECK(verify_password_hash(*h, "s3cret") == verify_outcome::mismatch);
  CHECK(verify_password_hash(*h, "") == verify_outcome::mismatch);
}

TEST_CASE("default parameters produce i=100000 with a 16-byte salt and a 32-byte hash") {
  auto h = hash_password("pw");
  REQUIRE(h);
  // $pbkdf2-sha256$i=100000$<22 chars>$<43 chars>
  CHECK(h->rfind("$pbkdf2-sha256$i=100000$", 0) == 0);
  CHECK(h->size() == std::string("$pbkdf2-sha256$i=100000$").size() + 22 + 1 + 43);
  CHECK(verify_password_hash(*h, "pw") == verify_outcome::match);
}

TEST_CASE("scrypt hash then verify round trip; wrong password is a mismatch") {
  auto h = hash_password("s3cret!", fast_scrypt());
  REQUIRE(h);
  CHECK(h->rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0);
  CHECK(verify_password_hash(*h, "s3cret!") == verify_outcome::match);
  CHECK(verify_password_hash(*h, "S3cret!") == verify_outcome::mismatch);
}

TEST_CASE("two hashes of the same password use different salts") {
  auto a = hash_password("same", fast_pbkdf2());
  auto b = hash_password("same", fast_pbkdf2());
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
}

TEST_CASE("hash_password refuses out-of-bounds parameters and unknown schemes") {
  CHECK_FALSE(hash_password("pw", hash_params{.iterations = 999}));
  CHECK_FALSE(hash_password("pw", hash_params{.iterations = 10'000'001}));
  CHECK_FALSE(hash_password("pw", hash_params{.scheme = "scrypt", .scrypt_log_n = 9}));
  CHECK_FALSE(hash_password("pw", hash_params{.scheme = "scrypt", .scrypt_log_n = 21}));
  CHECK_FALSE(hash_password("pw", hash_params{.scheme = "scrypt", .scrypt_r = 0}));
  CHECK_FALSE(hash_password("pw", hash_params{.scheme = "md5"}));
  auto e = hash_password("hunter2-secret", hash_params{.scheme = "md5"});
  REQUIRE_FALSE(e);
  CHECK(e.error().find("hunter2") == std::string::npos);
}

TEST_CASE("malformed stored hashes are reported as malformed, never as a mismatch") {
  const std::string salt = "AAECAwQFBgcICQoLDA0ODw";
  const std::string hash = "yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ";
  const std::vector<std::string> bad = {
      "",
      "plaintext",
      "pbkdf2-sha256$i=1000$" + salt + "$" + hash,         // no leading $
      "$pbkdf2-sha256$i=1000$" + salt,                     // missing hash
      "$pbkdf2-sha256$i=1000$" + salt + "$" + hash + "$",  // extra field
      "$pbkdf2-sha256$" + salt + "$" + hash,               // missing parameters
      "$pbkdf2-sha256$iter=1000$" + salt + "$" + hash,     // wrong parameter name
      "$pbkdf2-sha256$i=$" + salt + "$" + hash,
      "$pbkdf2-sha256$i=-1000$" + salt + "$" + hash,
      "$pbkdf2-sha256$i=1e4$" + salt + "$" + hash,
      "$pbkdf2-sha256$i=999$" + salt + "$" + hash,          // below the bound
      "$pbkdf2-sha256$i=10000001$" + salt + "$" + hash,     // above the bound
      "$pbkdf2-sha256$i=99999999999999999999$" + salt + "$" + hash,
      "$pbkdf2-sha256$i=1000$" + salt + "==$" + hash,       // padding not allowed
      "$pbkdf2-sha256$i=1000$" + salt + "$" + hash + "=",
      "$pbkdf2-sha256$i=1000$AAECAwQF!gcICQoLDA0ODw$" + hash,  // bad character
      "$pbkdf2-sha256$i=1000$AAECAwQF-gcICQoLDA0ODw$" + hash,  // url-safe alphabet
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODx$" + hash,  // non-canonical trailing bits
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0OD$" + hash,   // length 4k+1
      "$pbkdf2-sha256$i=1000$AAECAw$" + hash,                  // salt too short (4 bytes)
      "$pbkdf2-sha256$i=1000$" + salt + "$AAECAwQFBgc",        // hash too short (8 bytes)
      "$pbkdf2-sha256$i=1000$$" + hash,                        // empty salt
      "$sha512$i=1000$" + salt + "$" + hash,                   // unknown scheme
      "$scrypt$ln=10,r=8$" + salt + "$" + hash,                // missing p
      "$scrypt$r=8,ln=10,p=1$" + salt + "$" + hash,            // wrong order
      "$scrypt$ln=9,r=8,p=1$" + salt + "$" + hash,             // ln below bound
      "$scrypt$ln=21,r=8,p=1$" + salt + "$" + hash,            // ln above bound
      "$scrypt$ln=20,r=32,p=1$" + salt + "$" + hash,           // 4 GiB of memory
      "$scrypt$ln=10,r=0,p=1$" + salt + "$" + hash,
      "$scrypt$ln=10,r=8,p=0$" + salt + "$" + hash,
      "$scrypt$ln=10,r=8,p=17$" + salt + "$" + hash,
  };
  for (const auto& s : bad) {
    CAPTURE(s);
    std::string why;
    CHECK_FALSE(is_valid_password_hash(s, &why));
    CHECK_FALSE(why.empty());
    CHECK(verify_password_hash(s, "correct horse") == verify_outcome::malformed);
  }
}

TEST_CASE("the reason a hash is malformed never quotes the hash bytes") {
  const std::string h =
      "$pbkdf2-sha256$i=999$AAECAwQFBgcICQoLDA0ODw$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ";
  std::string why;
  REQUIRE_FALSE(is_valid_password_hash(h, &why));
  CHECK(why.find("iterations") != std::string::npos);
  CHECK(why.find("AAECAwQF") == std::string::npos);
  CHECK(why.find("yRTMTwbM") == std::string::npos);
  std::string why2;
  REQUIRE_FALSE(is_valid_password_hash("$pbkdf2-sha256$i=1000$AAECAwQF!gcICQoLDA0ODw$x", &why2));
  CHECK(why2.find("salt") != std::string::npos);
  CHECK(why2.find("AAECAwQF") == std::string::npos);
}

TEST_CASE("base64 without padding round-trips every length and rejects padding") {
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<std::uint8_t> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 37 + 11);
    const auto text = detail::base64_encode_unpadded(data);
    CHECK(text.find('=') == std::string::npos);
    auto back = detail::base64_decode_unpadded(text);
    REQUIRE(back);
    CHECK(*back == data);
  }
  CHECK(detail::base64_encode_unpadded(bytes_of("f")) == "Zg");
  CHECK(detail::base64_encode_unpadded(bytes_of("fo")) == "Zm8");
  CHECK(detail::base64_encode_unpadded(bytes_of("foo")) == "Zm9v");
  CHECK_FALSE(detail::base64_decode_unpadded("Zg=="));
  CHECK_FALSE(detail::base64_decode_unpadded(" Zm9v"));
  CHECK_FALSE(detail::base64_decode_unpadded("Zh"));  // non-canonical
}
