// What the PEAP tunnel carries at the end of phase 2 ([MS-PEAP] 2.2.8): the peer's EAP-TLV
// Response with the full EAP header, its TLVs, and the Result TLV's status that decides
// success. Invariants: TLVs that parse encode back to their bytes; a status is only ever
// read from a payload that parses; never a crash on any input.
#include <cstdint>
#include <cstdlib>

#include "eap/mschapv2.h"
#include "eap/packet.h"
#include "eap/peap_tlv.h"

using namespace npsd;
namespace peap = eap::peap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const eap::byte_view in(data, size);
  // As TLVs alone.
  const auto tlvs = peap::parse_tlvs(in);
  const auto status = peap::result_status(in);
  if (tlvs) {
    if (peap::encode_tlvs(*tlvs) != eap::bytes(in.begin(), in.end())) std::abort();
  } else {
    (void)peap::tlv_error_text(tlvs.error());
    if (status != 0) std::abort();
  }
  // As the inner EAP-TLV Response the conversation parses.
  if (auto p = eap::parse(in); p && p->type == peap::eap_type_tlv)
    (void)peap::result_status(p->data);
  // As a headerless inner packet carrying an MS-CHAPv2 user name (PEAPv0).
  if (size > 55)
    (void)eap::mschapv2::challenge_user_name(
        std::string_view(reinterpret_cast<const char*>(data) + 55, size - 55));
  return 0;
}
