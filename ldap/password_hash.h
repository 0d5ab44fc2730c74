#pragma once
// Password hashes for the local user file, as PHC-style strings:
//   $pbkdf2-sha256$i=<iterations>$<salt>$<hash>
//   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>
// salt and hash in standard base64 without padding. Verification compares in constant time.
// Every parameter is bounded so that a hostile user file cannot make one verification take
// unbounded time or memory. No message produced here ever holds a password or hash bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "radius/expected.h"

namespace npsd::ldap {

struct hash_params {
  std::string scheme = "pbkdf2-sha256";  // "pbkdf2-sha256" or "scrypt"
  std::uint32_t iterations = 100000;     // pbkdf2-sha256
  std::uint8_t scrypt_log_n = 15;        // scrypt: N = 2^scrypt_log_n
  std::uint32_t scrypt_r = 8, scrypt_p = 1;
};

// Bounds accepted when hashing and when verifying.
inline constexpr std::uint32_t pbkdf2_min_iterations = 1000;
inline constexpr std::uint32_t pbkdf2_max_iterations = 10'000'000;
inline constexpr std::uint8_t scrypt_min_log_n = 10;
inline constexpr std::uint8_t scrypt_max_log_n = 20;
inline constexpr std::uint32_t scrypt_max_r = 32;
inline constexpr std::uint32_t scrypt_max_p = 16;
inline constexpr std::uint64_t scrypt_max_memory = 1ull << 30;  // 128 * r * N bytes
inline constexpr std::uint64_t scrypt_max_work = 1ull << 24;    // N * r * p
inline constexpr std::size_t hash_min_salt_bytes = 8, hash_max_salt_bytes = 64;
inline constexpr std::size_t hash_min_output_bytes = 16, hash_max_output_bytes = 64;
inline constexpr std::size_t hash_salt_bytes = 16;    // what hash_password generates
inline constexpr std::size_t hash_output_bytes = 32;  // what hash_password generates

// A fresh random salt each call. The error text never contains the password.
expected<std::string, std::string> hash_password(std::string_view password,
                                                 const hash_params& params = {});

enum class verify_outcome { match, mismatch, malformed };

// Parses `stored` first (malformed or out-of-bounds -> malformed, without running a KDF), then
// derives and compares in constant time.
verify_outcome verify_password_hash(std::string_view stored, std::string_view password);

// True when `stored` parses and its parameters are within bounds; otherwise `why` (if given)
// says what is wrong, never quoting the hash bytes.
bool is_valid_password_hash(std::string_view stored, std::string* why = nullptr);

namespace detail {
// The raw KDFs, exposed for known-answer tests. No bounds beyond what OpenSSL enforces
// (scrypt's memory is capped at scrypt_max_memory plus the block buffers).
expected<std::vector<std::uint8_t>, std::string> pbkdf2_sha256(
    std::string_view password, std::span<const std::uint8_t> salt, std::uint32_t iterations,
    std::size_t out_len);
expected<std::vector<std::uint8_t>, std::string> scrypt(std::string_view password,
                                                        std::span<const std::uint8_t> salt,
                                                        std::uint64_t n, std::uint32_t r,
                                                        std::uint32_t p, std::size_t out_len);
// Standard alphabet, no padding; decoding is strict (canonical encodings only).
std::string base64_encode_unpadded(std::span<const std::uint8_t> data);
expected<std::vector<std::uint8_t>, std::string> base64_decode_unpadded(std::string_view text);
}  // namespace detail

}  // namespace npsd::ldap
