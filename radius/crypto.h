#pragma once
// RADIUS cryptography through OpenSSL EVP: authenticators (RFC 2865 3, RFC 2866 3),
// Message-Authenticator (RFC 3579 3.2, HMAC-MD5), User-Password hiding (RFC 2865 5.2), and the
// salted encryption of Tunnel-Password and MS-MPPE keys (RFC 2868 3.5, RFC 2548 2.4).
// Functions taking `encoded` work on a whole packet exactly as long as its length field.
#include <array>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "radius/packet.h"

namespace npsd::radius {

using md5_digest = std::array<std::uint8_t, 16>;

void random_bytes(std::span<std::uint8_t> out);
authenticator_t random_authenticator();

// Constant-time for equal lengths; different lengths compare unequal (length is not secret).
bool constant_time_equal(byte_view a, byte_view b) noexcept;

md5_digest md5(std::initializer_list<byte_view> parts);
md5_digest hmac_md5(byte_view key, std::initializer_list<byte_view> parts);

inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Offset (from the start of the packet) of the value of the first attribute of `type`, after
// checking the attribute chain; nullopt when absent. `count` receives how many there are.
std::optional<std::size_t> attribute_value_offset(byte_view encoded, std::uint8_t type,
                                                  std::size_t* count = nullptr) noexcept;

enum class verify_result {
  ok,
  missing_message_authenticator,
  bad_message_authenticator,  // wrong value, wrong length, or more than one
  bad_authenticator,          // Accounting/CoA request or response authenticator mismatch
  malformed,
};
std::string_view verify_result_name(verify_result r) noexcept;

// Server side. Access-Request and Status-Server: checks Message-Authenticator (required for
// Status-Server and when `require_message_authenticator`; checked whenever present).
// Accounting-Request, Disconnect-Request, CoA-Request: checks the Request Authenticator, and
// Message-Authenticator when present.
verify_result verify_request(byte_view encoded, std::string_view secret,
                             bool require_message_authenticator);

// Client side: checks a reply's Response Authenticator and its Message-Authenticator.
verify_result verify_response(byte_view encoded, const authenticator_t& request_authenticator,
                              std::string_view secret, bool require_message_authenticator);

// Signs an encoded reply in place: the Message-Authenticator (if the packet has one; its value
// is overwritten) and then the Response Authenticator.
void sign_response(bytes& encoded, const authenticator_t& request_authenticator,
                   std::string_view secret);
// Signs an encoded request in place. Access-Request/Status-Server: the authenticator field is
// left as it is (random, chosen by the caller) and Message-Authenticator is filled when present.
// Accounting-Request, Disconnect-Request, CoA-Request: Message-Authenticator (if present), then
// the Request Authenticator.
void sign_request(bytes& encoded, std::string_view secret);

// User-Password hiding (RFC 2865 5.2). Passwords longer than 128 bytes are refused.
enum class hiding_error { bad_length = 1, too_long, bad_padding };
expected<bytes, hiding_error> hide_user_password(byte_view password, std::string_view secret,
                                                 const authenticator_t& request_authenticator);
// Returns the password with the NUL padding removed.
expected<bytes, hiding_error> unhide_user_password(byte_view hidden, std::string_view secret,
                                                   const authenticator_t& request_authenticator);

// Salt encryption (RFC 2868 3.5, RFC 2548 2.4.2/2.4.3): returns salt (2 bytes, high bit set)
// followed by the ciphertext of length-byte + data + zero padding. A tag, if any, is the
// caller's business. `salt` 0 picks a random one.
expected<bytes, hiding_error> salt_encrypt(byte_view plain, std::string_view secret,
                                           const authenticator_t& request_authenticator,
                                           std::uint16_t salt = 0);
expected<bytes, hiding_error> salt_decrypt(byte_view salted, std::string_view secret,
                                           const authenticator_t& request_authenticator);

}  // namespace npsd::radius
