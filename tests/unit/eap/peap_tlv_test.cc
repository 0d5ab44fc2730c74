// eap/peap_tlv.h: PEAPv0's EAP-TLV payload ([MS-PEAP] 2.2.8), the Result TLV above all.
#include "eap/peap_tlv.h"

#include <doctest/doctest.h>

using namespace npsd;
using eap::bytes;
namespace peap = eap::peap;

TEST_CASE("a Result TLV is read back with its mandatory bit, type and status") {
  const bytes success = peap::result_payload(peap::result_success);
  CHECK(success == bytes{0x80, 0x03, 0x00, 0x02, 0x00, 0x01});
  const auto tlvs = peap::parse_tlvs(success);
  REQUIRE(tlvs);
  REQUIRE(tlvs->size() == 1);
  CHECK((*tlvs)[0].mandatory);
  CHECK((*tlvs)[0].type == peap::tlv_result);
  CHECK(peap::result_status(success) == peap::result_success);
  CHECK(peap::result_status(peap::result_payload(peap::result_failure)) == peap::result_failure);
}

TEST_CASE("the Result TLV is found among others, and the encoding round-trips") {
  // A non-mandatory vendor TLV (type 7), then the Result.
  const bytes payload = {0x00, 0x07, 0x00, 0x03, 0xaa, 0xbb, 0xcc,
                         0x80, 0x03, 0x00, 0x02, 0x00, 0x01};
  const auto tlvs = peap::parse_tlvs(payload);
  REQUIRE(tlvs);
  REQUIRE(tlvs->size() == 2);
  CHECK_FALSE((*tlvs)[0].mandatory);
  CHECK((*tlvs)[0].value.size() == 3);
  CHECK(peap::encode_tlvs(*tlvs) == payload);
  CHECK(peap::result_status(payload) == peap::result_success);
}

TEST_CASE("truncated TLVs, the reserved bit and doubtful Results are refused") {
  CHECK(peap::parse_tlvs(bytes{0x80, 0x03, 0x00}).error() == peap::tlv_error::truncated);
  CHECK(peap::parse_tlvs(bytes{0x80, 0x03, 0x00, 0x03, 0x00, 0x01}).error() ==
        peap::tlv_error::truncated);
  CHECK(peap::parse_tlvs(bytes{0xc0, 0x03, 0x00, 0x02, 0x00, 0x01}).error() ==
        peap::tlv_error::reserved_bit);
  CHECK(peap::parse_tlvs(bytes{})->empty());
  // No Result, a Result of the wrong size, two Results, a zero status: no status at all.
  CHECK(peap::result_status(bytes{0x00, 0x07, 0x00, 0x00}) == 0);
  CHECK(peap::result_status(bytes{0x80, 0x03, 0x00, 0x01, 0x01}) == 0);
  CHECK(peap::result_status(bytes{0x80, 0x03, 0x00, 0x02, 0x00, 0x01, 0x80, 0x03, 0x00, 0x02, 0x00,
                                  0x01}) == 0);
  CHECK(peap::result_status(bytes{0x80, 0x03, 0x00, 0x02, 0x00, 0x00}) == 0);
  // A Result after a truncated TLV is not believed.
  CHECK(peap::result_status(bytes{0x80, 0x03, 0x00, 0x02, 0x00, 0x01, 0x00, 0x07, 0x00, 0x09}) ==
        0);
}
