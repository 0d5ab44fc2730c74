#include "eap/tls_framing.h"

#include <algorithm>

namespace npsd::eap {

tls_reassembler::status tls_reassembler::fail(std::string_view why) {
  error_ = why;
  buffer_.clear();
  in_progress_ = false;
  expected_.reset();
  return status::error;
}

tls_reassembler::status tls_reassembler::add(byte_view payload) {
  if (payload.empty()) return fail("EAP-TLS response without a flags byte");
  const std::uint8_t flags = payload[0];
  flags_ = flags;
  std::size_t off = 1;
  if ((flags & tls_flag::length_included) != 0) {
    if (payload.size() < 5) return fail("EAP-TLS length field truncated");
    const std::size_t total = static_cast<std::size_t>(payload[1]) << 24 |
                              static_cast<std::size_t>(payload[2]) << 16 |
                              static_cast<std::size_t>(payload[3]) << 8 | payload[4];
    off = 5;
    if (total > max_) return fail("EAP-TLS message longer than the limit");
    if (!in_progress_) {
      buffer_.clear();
      expected_ = total;
    } else if (!expected_ || total != *expected_) {
      return fail("EAP-TLS length changed between fragments");
    }
  } else if (!in_progress_) {
    // RFC 5216 3.1: the first fragment of a fragmented message carries L. Accepted without it,
    // bounded by the limit.
    buffer_.clear();
    expected_.reset();
  }
  const auto data = payload.subspan(off);
  if (buffer_.size() + data.size() > max_) return fail("EAP-TLS message longer than the limit");
  if (expected_ && buffer_.size() + data.size() > *expected_)
    return fail("EAP-TLS fragments longer than the announced length");
  if (in_progress_ && data.empty() && (flags & tls_flag::more_fragments) != 0)
    return fail("empty EAP-TLS fragment with more to follow");
  buffer_.insert(buffer_.end(), data.begin(), data.end());
  if ((flags & tls_flag::more_fragments) != 0) {
    in_progress_ = true;
    return status::need_more;
  }
  if (expected_ && buffer_.size() != *expected_)
    return fail("EAP-TLS message shorter than the announced length");
  in_progress_ = false;
  expected_.reset();
  return status::complete;
}

bytes tls_reassembler::take() {
  bytes out = std::move(buffer_);
  buffer_.clear();
  return out;
}

bytes tls_fragmenter::next(std::size_t fragment_size, std::uint8_t extra_flags) {
  if (!pending()) return {extra_flags};  // nothing left: a bare flags byte
  fragment_size = std::max<std::size_t>(fragment_size, 64);
  const std::size_t left = message_.size() - offset_;
  const std::size_t n = std::min(left, fragment_size);
  const bool first = offset_ == 0;
  const bool more = n < left;
  std::uint8_t flags = extra_flags;
  if (more) flags |= tls_flag::more_fragments;
  // L on the first fragment of a message sent in several.
  const bool with_length = first && more;
  if (with_length) flags |= tls_flag::length_included;
  bytes out;
  out.reserve(1 + (with_length ? 4 : 0) + n);
  out.push_back(flags);
  if (with_length) {
    const auto total = message_.size();
    out.push_back(static_cast<std::uint8_t>(total >> 24));
    out.push_back(static_cast<std::uint8_t>(total >> 16));
    out.push_back(static_cast<std::uint8_t>(total >> 8));
    out.push_back(static_cast<std::uint8_t>(total));
  }
  out.insert(out.end(), message_.begin() + static_cast<std::ptrdiff_t>(offset_),
             message_.begin() + static_cast<std::ptrdiff_t>(offset_ + n));
  offset_ += n;
  if (!pending()) bytes().swap(message_);  // the sent flight is not kept for the conversation
  return out;
}

}  // namespace npsd::eap
