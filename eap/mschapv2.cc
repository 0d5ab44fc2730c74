#include "eap/mschapv2.h"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace npsd::eap::mschapv2 {

namespace {

// A library context with the legacy provider (MD4, DES) next to the default one, made once.
OSSL_LIB_CTX* legacy_ctx() {
  static OSSL_LIB_CTX* ctx = [] {
    OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
    if (c == nullptr) return c;
    if (OSSL_PROVIDER_load(c, "legacy") == nullptr || OSSL_PROVIDER_load(c, "default") == nullptr) {
      OSSL_LIB_CTX_free(c);
      return static_cast<OSSL_LIB_CTX*>(nullptr);
    }
    return c;
  }();
  return ctx;
}

struct md_free {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct cipher_free {
  void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
};
struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};

template <std::size_t N>
bool digest(const char* name, std::initializer_list<byte_view> parts, std::array<std::uint8_t, N>& out) {
  OSSL_LIB_CTX* lib = legacy_ctx();
  if (lib == nullptr) return false;
  std::unique_ptr<EVP_MD, md_free> md(EVP_MD_fetch(lib, name, nullptr));
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> c(EVP_MD_CTX_new());
  if (!md || !c || EVP_DigestInit_ex(c.get(), md.get(), nullptr) != 1) return false;
  for (const auto& p : parts)
    if (EVP_DigestUpdate(c.get(), p.data(), p.size()) != 1) return false;
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(c.get(), buf, &len) != 1 || len < N) return false;
  std::copy_n(buf, N, out.begin());
  return true;
}

// A 7-byte piece of the hash spread into a DES key (the parity bits are ignored by DES).
std::array<std::uint8_t, 8> des_key(const std::uint8_t* k) {
  return {k[0],
          static_cast<std::uint8_t>(k[0] << 7 | k[1] >> 1),
          static_cast<std::uint8_t>(k[1] << 6 | k[2] >> 2),
          static_cast<std::uint8_t>(k[2] << 5 | k[3] >> 3),
          static_cast<std::uint8_t>(k[3] << 4 | k[4] >> 4),
          static_cast<std::uint8_t>(k[4] << 3 | k[5] >> 5),
          static_cast<std::uint8_t>(k[5] << 2 | k[6] >> 6),
          static_cast<std::uint8_t>(k[6] << 1)};
}

bool des_encrypt(const std::uint8_t* key7, const std::array<std::uint8_t, 8>& in, std::uint8_t* out) {
  OSSL_LIB_CTX* lib = legacy_ctx();
  if (lib == nullptr) return false;
  std::unique_ptr<EVP_CIPHER, cipher_free> cipher(EVP_CIPHER_fetch(lib, "DES-ECB", nullptr));
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free> c(EVP_CIPHER_CTX_new());
  const auto key = des_key(key7);
  int n = 0;
  if (!cipher || !c || EVP_EncryptInit_ex2(c.get(), cipher.get(), key.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(c.get(), 0) != 1 ||
      EVP_EncryptUpdate(c.get(), out, &n, in.data(), 8) != 1 || n != 8)
    return false;
  return true;
}

}  // namespace

bool available() { return nt_password_hash("x").has_value(); }

std::optional<nt_hash_t> nt_password_hash(std::string_view utf8) {
  // UTF-8 to UTF-16LE.
  std::string utf16;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; }
    else return std::nullopt;
    if (i + n > utf8.size()) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(utf8[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = cp << 6 | (cc & 0x3F);
    }
    i += n;
    const auto put = [&](std::uint32_t u) {
      utf16.push_back(static_cast<char>(u & 0xFF));
      utf16.push_back(static_cast<char>(u >> 8));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  nt_hash_t out{};
  if (!digest("MD4", {byte_view(reinterpret_cast<const std::uint8_t*>(utf16.data()), utf16.size())}, out))
    return std::nullopt;
  return out;
}

std::string_view challenge_user_name(std::string_view name) {
  const auto bs = name.find('\\');
  return bs == std::string_view::npos ? name : name.substr(bs + 1);
}

std::array<std::uint8_t, 8> challenge_hash(const challenge_t& peer, const challenge_t& authenticator,
                                           std::string_view user_name) {
  std::array<std::uint8_t, 8> out{};
  digest("SHA1",
         {byte_view(peer), byte_view(authenticator),
          byte_view(reinterpret_cast<const std::uint8_t*>(user_name.data()), user_name.size())},
         out);
  return out;
}

std::optional<std::array<std::uint8_t, 24>> nt_response(const std::array<std::uint8_t, 8>& challenge,
                                                        const nt_hash_t& hash) {
  std::array<std::uint8_t, 21> z{};
  std::copy(hash.begin(), hash.end(), z.begin());
  std::array<std::uint8_t, 24> out{};
  for (int i = 0; i < 3; ++i)
    if (!des_encrypt(z.data() + 7 * i, challenge, out.data() + 8 * i)) return std::nullopt;
  return out;
}

std::optional<std::string> authenticator_response(const nt_hash_t& hash,
                                                  const std::array<std::uint8_t, 24>& nt_resp,
                                                  const challenge_t& peer,
                                                  const challenge_t& authenticator,
                                                  std::string_view user_name) {
  static constexpr char magic1[] = "Magic server to client signing constant";
  static constexpr char magic2[] = "Pad to make it do more than one iteration";
  nt_hash_t hash_hash{};
  if (!digest("MD4", {byte_view(hash)}, hash_hash)) return std::nullopt;
  std::array<std::uint8_t, 20> d{};
  digest("SHA1",
         {byte_view(hash_hash), byte_view(nt_resp),
          byte_view(reinterpret_cast<const std::uint8_t*>(magic1), sizeof magic1 - 1)},
         d);
  const auto ch = challenge_hash(peer, authenticator, user_name);
  std::array<std::uint8_t, 20> r{};
  digest("SHA1",
         {byte_view(d), byte_view(ch),
          byte_view(reinterpret_cast<const std::uint8_t*>(magic2), sizeof magic2 - 1)},
         r);
  std::string out = "S=";
  for (const auto b : r) out += fmt::format("{:02X}", b);
  return out;
}

}  // namespace npsd::eap::mschapv2
