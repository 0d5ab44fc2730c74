// EAP from the network: EAP-Message attributes joined (RFC 3579 3.1), the EAP packet parsed
// (RFC 3748 4), and the EAP-TLS / PEAP fragments of the peer reassembled (RFC 5216 3.1-3.2).
// The input is a stream of records (two bytes of length, then the bytes of one EAP-Response),
// fed to one reassembler as a conversation would, so fragment sequences are explored.
// Invariants: a parsed packet encodes back to its bytes and survives the trip through
// RADIUS; a reassembled message never exceeds the limit, and cut again by the fragmenter it
// reassembles to itself.
#include <cstdint>
#include <cstdlib>

#include "eap/packet.h"
#include "eap/tls_framing.h"

using namespace npsd;

namespace {

constexpr std::size_t max_message = 16384;

void check_refragments(const eap::bytes& message, std::size_t fragment) {
  eap::tls_fragmenter out;
  out.set(message);
  eap::tls_reassembler in(max_message);
  for (int guard = 0; guard < 1000; ++guard) {
    const auto payload = out.next(fragment);
    const auto s = in.add(payload);
    if (s == eap::tls_reassembler::status::error) std::abort();
    if (s == eap::tls_reassembler::status::complete) {
      if (out.pending() || in.take() != message) std::abort();
      return;
    }
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t fragment = 64 + std::size_t{data[0]} * 8;
  eap::byte_view in(data + 1, size - 1);
  eap::tls_reassembler reassembler(max_message);
  while (in.size() >= 2) {
    const std::size_t n = std::min<std::size_t>(std::size_t{in[0]} << 8 | in[1], in.size() - 2);
    const auto record = in.subspan(2, n);
    in = in.subspan(2 + n);

    auto p = eap::parse(record);
    if (!record.empty()) {  // an empty EAP-Message is no EAP-Message at all
      radius::packet carrier;
      eap::add_to_radius(carrier, record);
      const auto carried = eap::from_radius(carrier);
      if (!carried || carried->has_value() != p.has_value()) std::abort();
    }
    if (!p) {
      (void)eap::parse_error_text(p.error());
      continue;
    }
    if (eap::encode(*p) != eap::bytes(record.begin(), record.end())) std::abort();
    if (p->code != eap::code::response) continue;
    if (p->type != eap::type::tls && p->type != eap::type::peap) continue;
    switch (reassembler.add(p->data)) {
      case eap::tls_reassembler::status::need_more: break;
      case eap::tls_reassembler::status::error:
        if (reassembler.error().empty() || reassembler.in_progress()) std::abort();
        break;
      case eap::tls_reassembler::status::complete: {
        const auto message = reassembler.take();
        if (message.size() > max_message) std::abort();
        if (!message.empty()) check_refragments(message, fragment);
        break;
      }
    }
  }
  return 0;
}
