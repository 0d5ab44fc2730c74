// eap/mschapv2.h against the worked example of RFC 2759 section 9.2.
#include "eap/mschapv2.h"

#include <doctest/doctest.h>

#include <string>

using namespace npsd::eap;

namespace {
template <std::size_t N>
std::array<std::uint8_t, N> hex(const std::string& s) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(std::stoi(s.substr(2 * i, 2), nullptr, 16));
  return out;
}
}  // namespace

TEST_CASE("MS-CHAPv2: RFC 2759 9.2 vectors (password hash, challenge hash, NT-Response, authenticator response)") {
  REQUIRE(mschapv2::available());
  const auto hash = mschapv2::nt_password_hash("clientPass");
  REQUIRE(hash);
  CHECK(*hash == hex<16>("44EBBA8D5312B8D611474411F56989AE"));
  const auto auth = hex<16>("5B5D7C7D7B3F2F3E3C2C602132262628");
  const auto peer = hex<16>("21402324255E262A28295F2B3A337C7E");
  const auto ch = mschapv2::challenge_hash(peer, auth, "User");
  CHECK(ch == hex<8>("D02E4386BCE91226"));
  const auto resp = mschapv2::nt_response(ch, *hash);
  REQUIRE(resp);
  CHECK(*resp == hex<24>("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"));
  CHECK(mschapv2::authenticator_response(*hash, *resp, peer, auth, "User") ==
        "S=407A5589115FD0D6209F510FE9C04566932CDA56");
}

TEST_CASE("MS-CHAPv2: the challenge hash uses the name after DOMAIN\\; non-UTF-8 passwords are refused") {
  CHECK(mschapv2::challenge_user_name("CORP\\alice") == "alice");
  CHECK(mschapv2::challenge_user_name("alice") == "alice");
  CHECK_FALSE(mschapv2::nt_password_hash(std::string("\xff\xfe", 2)));
  CHECK(mschapv2::nt_password_hash("p\xc3\xa4ss"));  // UTF-8 "päss"
}
