#include "ldap/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <climits>
#include <optional>
#include <string>
#include <utility>

namespace npsd::ldap {

namespace {

using bytes = std::vector<std::uint8_t>;

npsd::unexpected<std::string> invalid(std::string what) {
  return npsd::unexpected<std::string>(std::move(what));
}

constexpr std::string_view pbkdf2_name = "pbkdf2-sha256";
constexpr std::string_view scrypt_name = "scrypt";

struct parsed_hash {
  enum class kind { pbkdf2_sha256, scrypt } scheme = kind::pbkdf2_sha256;
  std::uint32_t iterations = 0;
  std::uint8_t log_n = 0;
  std::uint32_t r = 0, p = 0;
  bytes salt, hash;
};

// Overwrites a derived key before it is released.
struct cleansed_bytes {
  bytes data;
  explicit cleansed_bytes(std::size_t n) : data(n) {}
  ~cleansed_bytes() { OPENSSL_cleanse(data.data(), data.size()); }
  cleansed_bytes(const cleansed_bytes&) = delete;
  cleansed_bytes& operator=(const cleansed_bytes&) = delete;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

// Decimal digits only: no sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "key=<decimal>" with the exact key.
std::optional<std::uint64_t> parse_param(std::string_view field, std::string_view key) {
  if (field.size() <= key.size() + 1 || field.substr(0, key.size()) != key ||
      field[key.size()] != '=')
    return std::nullopt;
  return parse_decimal(field.substr(key.size() + 1));
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
  return std::to_string(lo) + ".." + std::to_string(hi);
}

std::optional<std::string> check_pbkdf2_params(std::uint64_t iterations) {
  if (iterations < pbkdf2_min_iterations || iterations > pbkdf2_max_iterations)
    return "pbkdf2-sha256 iterations must be in " +
           range_text(pbkdf2_min_iterations, pbkdf2_max_iterations);
  return std::nullopt;
}

std::optional<std::string> check_scrypt_params(std::uint64_t log_n, std::uint64_t r,
                                               std::uint64_t p) {
  if (log_n < scrypt_min_log_n || log_n > scrypt_max_log_n)
    return "scrypt ln must be in " + range_text(scrypt_min_log_n, scrypt_max_log_n);
  if (r < 1 || r > scrypt_max_r) return "scrypt r must be in " + range_text(1, scrypt_max_r);
  if (p < 1 || p > scrypt_max_p) return "scrypt p must be in " + range_text(1, scrypt_max_p);
  const std::uint64_t n = 1ull << log_n;
  if (128 * r * n > scrypt_max_memory)
    return "scrypt memory 128*r*N exceeds " + std::to_string(scrypt_max_memory >> 20) + " MiB";
  if (n * r * p > scrypt_max_work)
    return "scrypt cost N*r*p exceeds " + std::to_string(scrypt_max_work);
  return std::nullopt;
}

expected<bytes, std::string> decode_field(std::string_view text, std::string_view what,
                                          std::size_t min_len, std::size_t max_len) {
  auto decoded = detail::base64_decode_unpadded(text);
  if (!decoded) return invalid(std::string(what) + " is not valid unpadded base64");
  if (decoded->size() < min_len || decoded->size() > max_len)
    return invalid(std::string(what) + " must be " + range_text(min_len, max_len) + " bytes");
  return std::move(*decoded);
}

expected<parsed_hash, std::string> parse_hash(std::string_view stored) {
  if (stored.empty()) return invalid("empty password hash");
  if (stored.front() != '$') return invalid("password hash does not start with '$'");
  const auto fields = split(stored.substr(1), '$');
  parsed_hash out;
  if (fields[0] == pbkdf2_name) {
    if (fields.size() != 4)
      return invalid("expected $pbkdf2-sha256$i=<iterations>$<salt>$<hash>");
    out.scheme = parsed_hash::kind::pbkdf2_sha256;
    const auto iterations = parse_param(fields[1], "i");
    if (!iterations) return invalid("pbkdf2-sha256 parameters must be i=<iterations>");
    if (auto why = check_pbkdf2_params(*iterations)) return invalid(std::move(*why));
    out.iterations = static_cast<std::uint32_t>(*iterations);
  } else if (fields[0] == scrypt_name) {
    if (fields.size() != 4) return invalid("expected $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>");
    out.scheme = parsed_hash::kind::scrypt;
    const auto params = split(fields[1], ',');
    std::optional<std::uint64_t> ln, r, p;
    if (params.size() == 3) {
      ln = parse_param(params[0], "ln");
      r = parse_param(params[1], "r");
      p = parse_param(params[2], "p");
    }
    if (!ln || !r || !p) return invalid("scrypt parameters must be ln=<log2 N>,r=<r>,p=<p>");
    if (auto why = check_scrypt_params(*ln, *r, *p)) return invalid(std::move(*why));
    out.log_n = static_cast<std::uint8_t>(*ln);
    out.r = static_cast<std::uint32_t>(*r);
    out.p = static_cast<std::uint32_t>(*p);
  } else {
    return invalid("unknown password hash scheme (expected pbkdf2-sha256 or scrypt)");
  }
  auto salt = decode_field(fields[2], "salt", hash_min_salt_bytes, hash_max_salt_bytes);
  if (!salt) return invalid(salt.error());
  auto hash = decode_field(fields[3], "hash", hash_min_output_bytes, hash_max_output_bytes);
  if (!hash) return invalid(hash.error());
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  return out;
}

bool derive(const parsed_hash& h, std::string_view password, bytes& out) {
  if (h.scheme == parsed_hash::kind::pbkdf2_sha256) {
    auto key = detail::pbkdf2_sha256(password, h.salt, h.iterations, out.size());
    if (!key) return false;
    std::copy(key->begin(), key->end(), out.begin());
    OPENSSL_cleanse(key->data(), key->size());
  } else {
    auto key = detail::scrypt(password, h.salt, 1ull << h.log_n, h.r, h.p, out.size());
    if (!key) return false;
    std::copy(key->begin(), key->end(), out.begin());
    OPENSSL_cleanse(key->data(), key->size());
  }
  return true;
}

}  // namespace

namespace detail {

expected<bytes, std::string> pbkdf2_sha256(std::string_view password,
                                           std::span<const std::uint8_t> salt,
                                           std::uint32_t iterations, std::size_t out_len) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations < 1 ||
      iterations > INT_MAX || out_len < 1 || out_len > 1024)
    return invalid("pbkdf2-sha256 parameters out of range");
  bytes out(out_len);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations),
                        EVP_sha256(), static_cast<int>(out_len), out.data()) != 1)
    return invalid("pbkdf2-sha256 derivation failed");
  return out;
}

expected<bytes, std::string> scrypt(std::string_view password,
                                    std::span<const std::uint8_t> salt, std::uint64_t n,
                                    std::uint32_t r, std::uint32_t p, std::size_t out_len) {
  if (n < 2 || (n & (n - 1)) != 0 || r < 1 || p < 1 || out_len < 1 || out_len > 1024 ||
      r > scrypt_max_memory / 128 || n > scrypt_max_memory / (128ull * r))
    return invalid("scrypt parameters out of range");
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B.
  const std::uint64_t maxmem = 128ull * r * (n + 2) + 128ull * r * p + (1u << 16);
  bytes out(out_len);
  if (EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), n, r, p,
                     maxmem, out.data(), out.size()) != 1)
    return invalid("scrypt derivation failed");
  return out;
}

std::string base64_encode_unpadded(std::span<const std::uint8_t> data) {
  if (data.empty()) return {};
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

expected<bytes, std::string> base64_decode_unpadded(std::string_view text) {
  if (text.empty()) return bytes{};
  if (text.size() % 4 == 1 || text.size() > (1u << 20)) return invalid("bad base64 length");
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return invalid("bad base64 character");
  }
  const std::size_t pad = (4 - text.size() % 4) % 4;
  std::string padded(text);
  padded.append(pad, '=');
  bytes out(padded.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return invalid("bad base64");
  out.resize(out.size() - pad);
  // Only the canonical encoding is accepted (unused trailing bits must be zero).
  if (base64_encode_unpadded(out) != text) return invalid("non-canonical base64");
  return out;
}

}  // namespace detail

expected<std::string, std::string> hash_password(std::string_view password,
                                                 const hash_params& params) {
  parsed_hash h;
  std::string param_text;
  if (params.scheme == pbkdf2_name) {
    if (auto why = check_pbkdf2_params(params.iterations)) return invalid(std::move(*why));
    h.scheme = parsed_hash::kind::pbkdf2_sha256;
    h.iterations = params.iterations;
    param_text = "i=" + std::to_string(params.iterations);
  } else if (params.scheme == scrypt_name) {
    if (auto why = check_scrypt_params(params.scrypt_log_n, params.scrypt_r, params.scrypt_p))
      return invalid(std::move(*why));
    h.scheme = parsed_hash::kind::scrypt;
    h.log_n = params.scrypt_log_n;
    h.r = params.scrypt_r;
    h.p = params.scrypt_p;
    param_text = "ln=" + std::to_string(h.log_n) + ",r=" + std::to_string(h.r) +
                 ",p=" + std::to_string(h.p);
  } else {
    return invalid("unknown password hash scheme (expected pbkdf2-sha256 or scrypt)");
  }
  h.salt.resize(hash_salt_bytes);
  if (RAND_bytes(h.salt.data(), static_cast<int>(h.salt.size())) != 1)
    return invalid("random number generator failed");
  cleansed_bytes derived(hash_output_bytes);
  if (!derive(h, password, derived.data)) return invalid("key derivation failed");
  return "$" + params.scheme + "$" + param_text + "$" + detail::base64_encode_unpadded(h.salt) +
         "$" + detail::base64_encode_unpadded(derived.data);
}

verify_outcome verify_password_hash(std::string_view stored, std::string_view password) {
  const auto h = parse_hash(stored);
  if (!h) return verify_outcome::malformed;
  cleansed_bytes derived(h->hash.size());
  // A KDF failure (e.g. out of memory) must never look like a match: fail closed.
  if (!derive(*h, password, derived.data)) return verify_outcome::mismatch;
  return CRYPTO_memcmp(derived.data.data(), h->hash.data(), h->hash.size()) == 0
             ? verify_outcome::match
             : verify_outcome::mismatch;
}

bool is_valid_password_hash(std::string_view stored, std::string* why) {
  const auto h = parse_hash(stored);
  if (!h && why) *why = h.error();
  return h.has_value();
}

}  // namespace npsd::ldap
