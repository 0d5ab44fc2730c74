#include "radius/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cassert>
#include <memory>
#include <stdexcept>

namespace npsd::radius {

namespace {

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

// Fetched once: implicit fetches on every call are slow in OpenSSL 3.
const EVP_MD* md5_algorithm() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: MD5 unavailable");
    return m;
  }();
  return md;
}

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: HMAC unavailable");
    return m;
  }();
  return mac;
}

EVP_MD_CTX* thread_md_ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

std::uint16_t read16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

constexpr std::array<std::uint8_t, 16> zeros16{};

// Which packets have their Request Authenticator computed from the contents.
bool has_computed_request_authenticator(std::uint8_t c) noexcept {
  switch (static_cast<code>(c)) {
    case code::accounting_request:
    case code::disconnect_request:
    case code::coa_request:
      return true;
    default:
      return false;
  }
}

// HMAC-MD5 over the packet with the authenticator field replaced by `auth_field` and the
// Message-Authenticator value (at `ma`) replaced by zeros.
md5_digest message_authenticator(byte_view encoded, std::size_t ma, byte_view auth_field,
                                 std::string_view secret) {
  return hmac_md5(as_bytes(secret), {encoded.subspan(0, 4), auth_field,
                                     encoded.subspan(header_size, ma - header_size), zeros16,
                                     encoded.subspan(ma + 16)});
}

verify_result check_message_authenticator(byte_view encoded, byte_view auth_field,
                                          std::string_view secret, bool required) {
  std::size_t count = 0;
  const auto ma = attribute_value_offset(encoded, attr::message_authenticator, &count);
  if (!ma) return required ? verify_result::missing_message_authenticator : verify_result::ok;
  if (count != 1 || encoded[*ma - 1] != 18) return verify_result::bad_message_authenticator;
  const auto want = message_authenticator(encoded, *ma, auth_field, secret);
  return constant_time_equal(want, encoded.subspan(*ma, 16))
             ? verify_result::ok
             : verify_result::bad_message_authenticator;
}

// MD5(Code+ID+Length+auth_field+Attributes+Secret)
md5_digest packet_digest(byte_view encoded, byte_view auth_field, std::string_view secret) {
  return md5({encoded.subspan(0, 4), auth_field, encoded.subspan(header_size), as_bytes(secret)});
}

bool well_formed(byte_view encoded) noexcept {
  return encoded.size() >= header_size && read16(encoded.data() + 2) == encoded.size();
}

}  // namespace

void random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("OpenSSL: RAND_bytes failed");
}

authenticator_t random_authenticator() {
  authenticator_t a;
  random_bytes(a);
  return a;
}

bool constant_time_equal(byte_view a, byte_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

md5_digest md5(std::initializer_list<byte_view> parts) {
  EVP_MD_CTX* ctx = thread_md_ctx();
  md5_digest out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, md5_algorithm(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: MD5 init failed");
  for (const auto& p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  assert(len == out.size());
  return out;
}

md5_digest hmac_md5(byte_view key, std::initializer_list<byte_view> parts) {
  std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
  char digest_name[] = "MD5";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  // OpenSSL refuses a zero-length key; RADIUS secrets are never empty (configuration checks).
  static const std::uint8_t empty_key = 0;
  const std::uint8_t* k = key.empty() ? &empty_key : key.data();
  if (!ctx || EVP_MAC_init(ctx.get(), k, key.size(), params) != 1)
    throw std::runtime_error("OpenSSL: HMAC-MD5 init failed");
  for (const auto& p : parts) EVP_MAC_update(ctx.get(), p.data(), p.size());
  md5_digest out{};
  std::size_t len = 0;
  EVP_MAC_final(ctx.get(), out.data(), &len, out.size());
  return out;
}

std::optional<std::size_t> attribute_value_offset(byte_view encoded, std::uint8_t type,
                                                  std::size_t* count) noexcept {
  std::optional<std::size_t> first;
  std::size_t n = 0;
  for (std::size_t pos = header_size; pos + 2 <= encoded.size();) {
    const std::size_t len = encoded[pos + 1];
    if (len < 2 || pos + len > encoded.size()) break;
    if (encoded[pos] == type) {
      if (!first) first = pos + 2;
      ++n;
    }
    pos += len;
  }
  if (count != nullptr) *count = n;
  return first;
}

std::string_view verify_result_name(verify_result r) noexcept {
  switch (r) {
    case verify_result::ok: return "ok";
    case verify_result::missing_message_authenticator: return "missing Message-Authenticator";
    case verify_result::bad_message_authenticator: return "invalid Message-Authenticator";
    case verify_result::bad_authenticator: return "invalid authenticator";
    case verify_result::malformed: return "malformed";
  }
  return "unknown";
}

verify_result verify_request(byte_view encoded, std::string_view secret,
                             bool require_message_authenticator) {
  if (!well_formed(encoded)) return verify_result::malformed;
  const std::uint8_t c = encoded[0];
  if (has_computed_request_authenticator(c)) {
    const auto want = packet_digest(encoded, zeros16, secret);
    if (!constant_time_equal(want, encoded.subspan(4, 16))) return verify_result::bad_authenticator;
    return check_message_authenticator(encoded, zeros16, secret, false);
  }
  const bool required =
      require_message_authenticator || static_cast<code>(c) == code::status_server;
  return check_message_authenticator(encoded, encoded.subspan(4, 16), secret, required);
}

verify_result verify_response(byte_view encoded, const authenticator_t& request_authenticator,
                              std::string_view secret, bool require_message_authenticator) {
  if (!well_formed(encoded)) return verify_result::malformed;
  const auto want = packet_digest(encoded, request_authenticator, secret);
  if (!constant_time_equal(want, encoded.subspan(4, 16))) return verify_result::bad_authenticator;
  return check_message_authenticator(encoded, request_authenticator, secret,
                                     require_message_authenticator);
}

void sign_response(bytes& encoded, const authenticator_t& request_authenticator,
                   std::string_view secret) {
  assert(well_formed(encoded));
  if (const auto ma = attribute_value_offset(encoded, attr::message_authenticator)) {
    const auto mac = message_authenticator(encoded, *ma, request_authenticator, secret);
    std::copy(mac.begin(), mac.end(), encoded.begin() + static_cast<std::ptrdiff_t>(*ma));
  }
  const auto auth = packet_digest(encoded, request_authenticator, secret);
  std::copy(auth.begin(), auth.end(), encoded.begin() + 4);
}

void sign_request(bytes& encoded, std::string_view secret) {
  assert(well_formed(encoded));
  const bool computed = has_computed_request_authenticator(encoded[0]);
  if (computed) std::fill_n(encoded.begin() + 4, 16, 0);
  if (const auto ma = attribute_value_offset(encoded, attr::message_authenticator)) {
    const auto mac = message_authenticator(
        encoded, *ma, byte_view(encoded).subspan(4, 16), secret);
    std::copy(mac.begin(), mac.end(), encoded.begin() + static_cast<std::ptrdiff_t>(*ma));
  }
  if (computed) {
    const auto auth = packet_digest(encoded, zeros16, secret);
    std::copy(auth.begin(), auth.end(), encoded.begin() + 4);
  }
}

namespace {

// The chained MD5 stream cipher shared by RFC 2865 5.2 and RFC 2868 3.5 / RFC 2548 2.4:
// block i of `data` (a multiple of 16 bytes) is XORed with MD5(secret + ciphertext block i-1),
// the first with MD5(secret + iv1 + iv2).
template <bool Encrypt>
void xor_chain(std::span<std::uint8_t> data, std::string_view secret, byte_view iv1, byte_view iv2) {
  md5_digest b = md5({as_bytes(secret), iv1, iv2});
  for (std::size_t off = 0; off < data.size(); off += 16) {
    std::array<std::uint8_t, 16> cipher;
    for (std::size_t i = 0; i < 16; ++i) {
      if constexpr (Encrypt) {
        data[off + i] ^= b[i];
        cipher[i] = data[off + i];
      } else {
        cipher[i] = data[off + i];
        data[off + i] ^= b[i];
      }
    }
    if (off + 16 < data.size()) b = md5({as_bytes(secret), cipher});
  }
}

}  // namespace

expected<bytes, hiding_error> hide_user_password(byte_view password, std::string_view secret,
                                                 const authenticator_t& request_authenticator) {
  if (password.size() > 128) return unexpected(hiding_error::too_long);
  bytes out(password.begin(), password.end());
  out.resize(std::max<std::size_t>(16, (password.size() + 15) / 16 * 16), 0);
  xor_chain<true>(out, secret, request_authenticator, {});
  return out;
}

expected<bytes, hiding_error> unhide_user_password(byte_view hidden, std::string_view secret,
                                                   const authenticator_t& request_authenticator) {
  if (hidden.size() < 16 || hidden.size() > 128 || hidden.size() % 16 != 0)
    return unexpected(hiding_error::bad_length);
  bytes out(hidden.begin(), hidden.end());
  xor_chain<false>(out, secret, request_authenticator, {});
  while (!out.empty() && out.back() == 0) out.pop_back();
  return out;
}

expected<bytes, hiding_error> salt_encrypt(byte_view plain, std::string_view secret,
                                           const authenticator_t& request_authenticator,
                                           std::uint16_t salt) {
  if (plain.size() > 239) return unexpected(hiding_error::too_long);  // fits in 253 bytes
  if (salt == 0) {
    std::array<std::uint8_t, 2> s;
    random_bytes(s);
    salt = read16(s.data());
  }
  salt |= 0x8000;
  bytes out{static_cast<std::uint8_t>(salt >> 8), static_cast<std::uint8_t>(salt & 0xff)};
  out.push_back(static_cast<std::uint8_t>(plain.size()));
  out.insert(out.end(), plain.begin(), plain.end());
  out.resize(2 + (out.size() - 2 + 15) / 16 * 16, 0);
  xor_chain<true>(std::span(out).subspan(2), secret, request_authenticator,
                  byte_view(out).subspan(0, 2));
  return out;
}

expected<bytes, hiding_error> salt_decrypt(byte_view salted, std::string_view secret,
                                           const authenticator_t& request_authenticator) {
  if (salted.size() < 18 || (salted.size() - 2) % 16 != 0)
    return unexpected(hiding_error::bad_length);
  if ((salted[0] & 0x80) == 0) return unexpected(hiding_error::bad_padding);
  bytes data(salted.begin() + 2, salted.end());
  xor_chain<false>(data, secret, request_authenticator, salted.subspan(0, 2));
  const std::size_t len = data[0];
  if (len > data.size() - 1) return unexpected(hiding_error::bad_padding);
  return bytes(data.begin() + 1, data.begin() + 1 + static_cast<std::ptrdiff_t>(len));
}

}  // namespace npsd::radius
