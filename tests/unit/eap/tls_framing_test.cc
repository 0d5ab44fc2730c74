// eap/tls_framing.h: EAP-TLS flags, TLS Message Length and fragmentation (RFC 5216 3.1-3.2).
#include "eap/tls_framing.h"

#include <doctest/doctest.h>

#include <string>

using namespace npsd;
using eap::bytes;
using eap::tls_reassembler;
namespace flag = eap::tls_flag;
using status = tls_reassembler::status;

namespace {

bytes message_of(std::size_t n) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + n);
  return b;
}

std::uint32_t length_field(const bytes& payload) {
  return static_cast<std::uint32_t>(payload[1]) << 24 | static_cast<std::uint32_t>(payload[2]) << 16 |
         static_cast<std::uint32_t>(payload[3]) << 8 | payload[4];
}

// An EAP-TLS payload: flags, the length when L is set, then data.
bytes payload(std::uint8_t flags, std::optional<std::uint32_t> length, const bytes& data) {
  bytes out{flags};
  if (length) {
    flags |= flag::length_included;
    out[0] = flags;
    out.push_back(static_cast<std::uint8_t>(*length >> 24));
    out.push_back(static_cast<std::uint8_t>(*length >> 16));
    out.push_back(static_cast<std::uint8_t>(*length >> 8));
    out.push_back(static_cast<std::uint8_t>(*length));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

bytes slice(const bytes& b, std::size_t off, std::size_t n) {
  return bytes(b.begin() + static_cast<std::ptrdiff_t>(off),
               b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), off + n)));
}

enum class length_mode { first_only, every_fragment, none };

// `message` cut by hand into fragments of `piece` data bytes (any size, below the fragmenter's
// 64-byte floor too), as a peer may send it.
std::vector<bytes> hand_fragments(const bytes& message, std::size_t piece, length_mode mode) {
  std::vector<bytes> out;
  const auto total = static_cast<std::uint32_t>(message.size());
  std::size_t off = 0;
  do {
    const auto data = slice(message, off, piece);
    off += data.size();
    const bool more = off < message.size();
    const bool first = out.empty();
    const bool with_length =
        mode == length_mode::every_fragment || (mode == length_mode::first_only && first && more);
    out.push_back(payload(more ? flag::more_fragments : 0,
                          with_length ? std::optional<std::uint32_t>(total) : std::nullopt, data));
  } while (off < message.size());
  return out;
}

// Feeds `fragments` to `r`; returns what went wrong, empty when the message came back exactly.
std::string reassemble(tls_reassembler& r, const std::vector<bytes>& fragments,
                       const bytes& message) {
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    const auto st = r.add(fragments[i]);
    const bool last = i + 1 == fragments.size();
    if (st == status::error) return "fragment " + std::to_string(i) + ": " + std::string(r.error());
    if (!last && st != status::need_more) return "fragment " + std::to_string(i) + " did not ask for more";
    if (!last && !r.in_progress()) return "not in progress after fragment " + std::to_string(i);
    if (last && st != status::complete) return "the last fragment did not complete";
  }
  if (r.in_progress()) return "still in progress after the last fragment";
  if (r.take() != message) return "the reassembled message differs";
  if (!r.take().empty()) return "take() did not clear the message";
  return {};
}

// A good two-fragment message then a good single one: proves the reassembler is usable again.
void check_accepts_fresh_messages(tls_reassembler& r) {
  CHECK_FALSE(r.in_progress());
  const auto m = message_of(90);  // every reassembler in these tests takes 90 bytes
  CHECK(reassemble(r, hand_fragments(m, 40, length_mode::first_only), m) == "");
  const auto single = message_of(20);
  CHECK(reassemble(r, {payload(0, std::nullopt, single)}, single) == "");
}

}  // namespace

TEST_CASE("tls_fragmenter output for messages of 0..3000 bytes at fragment sizes 64, 100, 200 and "
          "1020 is framed per RFC 5216 and reassembles exactly") {
  tls_reassembler r(65536);
  for (const std::size_t fragment_size : {64u, 100u, 200u, 1020u}) {
    for (std::size_t n = 0; n <= 3000; ++n) {
      const auto message = message_of(n);
      eap::tls_fragmenter f;
      f.set(message);
      CHECK(f.pending() == (n > 0));
      std::vector<bytes> fragments;
      do fragments.push_back(f.next(fragment_size));
      while (f.pending());

      std::string problem;
      const std::size_t expected_count = n == 0 ? 1 : (n + fragment_size - 1) / fragment_size;
      if (fragments.size() != expected_count) problem = "fragment count";
      for (std::size_t i = 0; i < fragments.size() && problem.empty(); ++i) {
        const auto& p = fragments[i];
        const bool multi = fragments.size() > 1;
        const bool last = i + 1 == fragments.size();
        const bool has_l = (p[0] & flag::length_included) != 0;
        const bool has_m = (p[0] & flag::more_fragments) != 0;
        const std::size_t header = has_l ? 5 : 1;
        if (has_l != (multi && i == 0)) problem = "L flag on fragment " + std::to_string(i);
        else if (has_m == last) problem = "M flag on fragment " + std::to_string(i);
        else if ((p[0] & ~(flag::length_included | flag::more_fragments)) != 0) problem = "stray flags";
        else if (has_l && (p.size() < 5 || length_field(p) != n)) problem = "TLS Message Length";
        else if (!last && p.size() - header != fragment_size) problem = "a middle fragment is short";
        else if (p.size() - header > fragment_size) problem = "a fragment is too long";
      }
      if (problem.empty()) problem = reassemble(r, fragments, message);
      CHECK_MESSAGE(problem == "", "size ", n, " at fragment size ", fragment_size);
    }
  }
}

TEST_CASE("tls_fragmenter never cuts below 64 bytes and adds extra flags to every fragment") {
  eap::tls_fragmenter f;
  f.set(message_of(130));
  const auto a = f.next(1, flag::start);
  const auto b = f.next(1, flag::start);
  const auto c = f.next(1, flag::start);
  CHECK_FALSE(f.pending());
  CHECK(a.size() == 5 + 64);
  CHECK(a[0] == (flag::start | flag::length_included | flag::more_fragments));
  CHECK(b.size() == 1 + 64);
  CHECK(b[0] == (flag::start | flag::more_fragments));
  CHECK(c.size() == 1 + 2);
  CHECK(c[0] == flag::start);
}

TEST_CASE("tls_fragmenter: set() replaces a message still being sent") {
  eap::tls_fragmenter f;
  f.set(message_of(500));
  (void)f.next(100);
  f.set(message_of(80));
  const auto p = f.next(100);
  CHECK_FALSE(f.pending());
  CHECK(p == payload(0, std::nullopt, message_of(80)));
}

TEST_CASE("tls_reassembler takes back messages split by hand into fragments of 1, 2, 5, 10, 100 "
          "and 1000 bytes, with L on the first, on every, or on no fragment") {
  tls_reassembler r(65536);
  for (const std::size_t n : {1u, 2u, 3u, 64u, 999u, 1000u, 1001u, 4097u}) {
    const auto message = message_of(n);
    for (const std::size_t piece : {1u, 2u, 5u, 10u, 100u, 1000u}) {
      for (const auto mode : {length_mode::first_only, length_mode::every_fragment, length_mode::none}) {
        CAPTURE(n);
        CAPTURE(piece);
        CAPTURE(static_cast<int>(mode));
        CHECK(reassemble(r, hand_fragments(message, piece, mode), message) == "");
      }
    }
  }
}

TEST_CASE("tls_reassembler: an ACK (flags byte 0 only) completes with an empty message") {
  tls_reassembler r(1000);
  CHECK(r.add(bytes{0}) == status::complete);
  CHECK_FALSE(r.in_progress());
  CHECK(r.last_flags() == 0);
  CHECK(r.take().empty());
}

TEST_CASE("tls_reassembler: last_flags() is the flags byte of the last fragment") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments | 0x01, 10, message_of(4))) == status::need_more);
  CHECK(r.last_flags() == (flag::length_included | flag::more_fragments | 0x01));
  CHECK(r.add(payload(0x01, std::nullopt, message_of(6))) == status::complete);
  CHECK(r.last_flags() == 0x01);
}

TEST_CASE("tls_reassembler: an empty payload (no flags byte) is an error") {
  tls_reassembler r(1000);
  CHECK(r.add(bytes{}) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
}

TEST_CASE("tls_reassembler: L with a truncated length field is an error") {
  for (std::size_t len = 0; len < 4; ++len) {
    CAPTURE(len);
    tls_reassembler r(1000);
    bytes p{flag::length_included};
    p.insert(p.end(), len, 0);
    CHECK(r.add(p) == status::error);
    CHECK_FALSE(r.error().empty());
    check_accepts_fresh_messages(r);
  }
}

TEST_CASE("tls_reassembler: an announced length over the limit is an error, at the limit is not") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 1001, message_of(10))) == status::error);
  CHECK_FALSE(r.error().empty());
  CHECK(r.add(payload(flag::more_fragments, 0xffffffffu, message_of(10))) == status::error);
  check_accepts_fresh_messages(r);
  const auto m = message_of(1000);
  CHECK(reassemble(r, hand_fragments(m, 300, length_mode::first_only), m) == "");
}

TEST_CASE("tls_reassembler: fragments exceeding the announced length are an error") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(6))) == status::need_more);
  CHECK(r.add(payload(0, std::nullopt, message_of(6))) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
  // A single fragment longer than its own L.
  CHECK(r.add(payload(0, 5, message_of(6))) == status::error);
  check_accepts_fresh_messages(r);
  // The overflow in a middle fragment.
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(4))) == status::need_more);
  CHECK(r.add(payload(flag::more_fragments, std::nullopt, message_of(7))) == status::error);
  check_accepts_fresh_messages(r);
}

TEST_CASE("tls_reassembler: a last fragment short of the announced length is an error") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(4))) == status::need_more);
  CHECK(r.add(payload(0, std::nullopt, message_of(4))) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
  CHECK(r.add(payload(0, 10, message_of(9))) == status::error);
  check_accepts_fresh_messages(r);
}

TEST_CASE("tls_reassembler: a zero-data fragment with M set mid-message is an error") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(4))) == status::need_more);
  CHECK(r.add(bytes{flag::more_fragments}) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
}

TEST_CASE("tls_reassembler: a total over max_message without L is an error") {
  tls_reassembler r(100);
  CHECK(r.add(payload(flag::more_fragments, std::nullopt, message_of(60))) == status::need_more);
  CHECK(r.add(payload(flag::more_fragments, std::nullopt, message_of(60))) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
  // A single unfragmented message over the limit too.
  CHECK(r.add(payload(0, std::nullopt, message_of(101))) == status::error);
  check_accepts_fresh_messages(r);
  // And exactly at the limit, without L, is accepted.
  const auto m = message_of(100);
  CHECK(reassemble(r, hand_fragments(m, 40, length_mode::none), m) == "");
}

TEST_CASE("tls_reassembler: a changed L between fragments is an error") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(4))) == status::need_more);
  CHECK(r.add(payload(flag::more_fragments, 12, message_of(4))) == status::error);
  CHECK_FALSE(r.error().empty());
  check_accepts_fresh_messages(r);
}

TEST_CASE("tls_reassembler: after an error mid-message the next fragment starts a fresh message") {
  tls_reassembler r(1000);
  CHECK(r.add(payload(flag::more_fragments, 10, message_of(4))) == status::need_more);
  CHECK(r.add(bytes{}) == status::error);
  // The 4 bytes from before the error are gone: a new 8-byte message is exactly 8 bytes.
  const auto m = message_of(8);
  CHECK(reassemble(r, hand_fragments(m, 3, length_mode::first_only), m) == "");
}

TEST_CASE("tls_fragmenter: next() after the last fragment gives a bare flags byte, never reads past the message") {
  eap::tls_fragmenter f;
  f.set(eap::bytes(100, 0xab));
  (void)f.next(64);
  (void)f.next(64);
  CHECK_FALSE(f.pending());
  CHECK(f.next(64) == eap::bytes{0});
}

TEST_CASE("tls_reassembler: an announced length of 0 with data, or L only on a later fragment, is an error") {
  eap::tls_reassembler r(65536);
  CHECK(r.add(eap::bytes{0x80, 0, 0, 0, 0, 'a', 'b'}) == eap::tls_reassembler::status::error);
  CHECK(r.add(eap::bytes{0x40, 'a'}) == eap::tls_reassembler::status::need_more);
  CHECK(r.add(eap::bytes{0xC0, 0, 0, 0, 2, 'b', 'c', 'd'}) == eap::tls_reassembler::status::error);
  CHECK(r.add(eap::bytes{0x00, 'e'}) == eap::tls_reassembler::status::complete);
  CHECK(r.take() == eap::bytes{'e'});
}
