#pragma once
// EAP-TLS framing (RFC 5216 3.1-3.2, shared by PEAP): the flags byte, the TLS Message Length,
// and fragmentation both ways. Pure and resumable at any byte boundary.
#include <cstdint>
#include <optional>
#include <string_view>

#include "eap/packet.h"

namespace npsd::eap {

namespace tls_flag {
inline constexpr std::uint8_t length_included = 0x80;  // L
inline constexpr std::uint8_t more_fragments = 0x40;   // M
inline constexpr std::uint8_t start = 0x20;            // S
inline constexpr std::uint8_t version_mask = 0x07;     // PEAP's version bits
}  // namespace tls_flag

// Reassembles the fragments of one TLS message sent by the peer.
class tls_reassembler {
 public:
  explicit tls_reassembler(std::size_t max_message) : max_(max_message) {}

  enum class status {
    complete,   // take() holds the whole message (possibly empty: an ACK)
    need_more,  // a fragment with M set: answer with an ACK
    error,      // protocol violation or over the limit: end the conversation
  };
  // `payload` is the EAP-Response's data after the type byte: flags, [length], data.
  status add(byte_view payload);
  // Why the last add() failed.
  std::string_view error() const noexcept { return error_; }
  bool in_progress() const noexcept { return in_progress_; }
  // The message completed by the last add(); clears it.
  bytes take();
  std::uint8_t last_flags() const noexcept { return flags_; }

 private:
  status fail(std::string_view why);
  std::size_t max_;
  bytes buffer_;
  std::optional<std::size_t> expected_;  // from L, when given
  bool in_progress_ = false;
  std::uint8_t flags_ = 0;
  std::string_view error_;
};

// Cuts one outgoing TLS message into EAP-TLS payloads.
class tls_fragmenter {
 public:
  void set(bytes message) {
    message_ = std::move(message);
    offset_ = 0;
  }
  bool pending() const noexcept { return offset_ < message_.size(); }
  // The next payload: flags (L on the first fragment of a fragmented message, M while more
  // follow, plus `extra_flags`), length, and at most `fragment_size` bytes of the message.
  bytes next(std::size_t fragment_size, std::uint8_t extra_flags = 0);

 private:
  bytes message_;
  std::size_t offset_ = 0;
};

}  // namespace npsd::eap
