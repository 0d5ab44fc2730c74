#pragma once
// MS-CHAPv2 (RFC 2759) as PEAP's inner EAP-MSCHAPv2 uses it: the NT password hash, the
// challenge hash, the NT-Response and the authenticator response. MD4 and single DES come
// from OpenSSL's legacy provider, loaded into a library context of this module's own.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eap/packet.h"

namespace npsd::eap::mschapv2 {

using nt_hash_t = std::array<std::uint8_t, 16>;
using challenge_t = std::array<std::uint8_t, 16>;

// MD4 of the UTF-16LE password (NtPasswordHash). nullopt when the legacy provider is missing
// or the password is not UTF-8.
std::optional<nt_hash_t> nt_password_hash(std::string_view utf8_password);
// The user name as it enters the challenge hash: the part after a "DOMAIN\" prefix.
std::string_view challenge_user_name(std::string_view name);
std::array<std::uint8_t, 8> challenge_hash(const challenge_t& peer, const challenge_t& authenticator,
                                           std::string_view user_name);
// The 24-byte NT-Response for a challenge hash and an NT hash; nullopt without DES.
std::optional<std::array<std::uint8_t, 24>> nt_response(const std::array<std::uint8_t, 8>& challenge,
                                                        const nt_hash_t& hash);
// "S=" and 40 upper-case hex digits (GenerateAuthenticatorResponse); nullopt without MD4.
std::optional<std::string> authenticator_response(const nt_hash_t& hash,
                                                  const std::array<std::uint8_t, 24>& nt_resp,
                                                  const challenge_t& peer,
                                                  const challenge_t& authenticator,
                                                  std::string_view user_name);
// Whether MD4 and DES can be had here (the legacy provider loads).
bool available();

}  // namespace npsd::eap::mschapv2
