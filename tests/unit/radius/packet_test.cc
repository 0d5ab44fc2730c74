#include "radius/packet.h"

#include <algorithm>

#include <doctest/doctest.h>

#include "hex.h"

using namespace npsd::radius;
using npsd::test::hex;
using npsd::test::rfc2865_7_1_request;

namespace {

bytes with_attribute(std::uint8_t type, std::size_t value_len) {
  packet p;
  p.attributes.push_back({type, bytes(value_len, 0x41)});
  return *encode(p);
}
}  // namespace

TEST_CASE("decode reads the RFC 2865 7.1 Access-Request") {
  const auto p = decode(rfc2865_7_1_request);
  REQUIRE(p);
  CHECK(p->code == code::access_request);
  CHECK(p->identifier == 0);
  REQUIRE(p->attributes.size() == 4);
  CHECK(p->find(attr::user_name)->as_string() == "nemo");
  CHECK(p->find(attr::user_password)->value.size() == 16);
  CHECK(p->find(attr::nas_port)->as_uint32() == 3u);
  CHECK(p->find(attr::nas_ip_address)->value == bytes{192, 168, 1, 16});
}

TEST_CASE("decode reads the RFC 2865 7.2 CHAP request and the 7.3 Access-Challenge") {
  const auto chap = decode(hex(
      "01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e 0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13"
      "16 e9 75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04 06 c0 a8 01 10 05 06 00 00 00 14 06"
      "06 00 00 00 02 07 06 00 00 00 01"));
  REQUIRE(chap);
  CHECK(chap->find(attr::user_name)->as_string() == "flopsy");
  CHECK(chap->find(attr::chap_password)->value.size() == 17);
  CHECK(chap->find(attr::service_type)->as_uint32() == 2u);
  CHECK(chap->find(attr::framed_protocol)->as_uint32() == 1u);
  const auto challenge = decode(hex(
      "0b 02 00 4e 36 f3 c8 76 4a e8 c7 11 57 40 3c 0c 71 ff 9c 45 12 30 43 68 61 6c 6c 65 6e 67"
      "65 20 33 32 37 36 39 34 33 30 2e 20 20 45 6e 74 65 72 20 72 65 73 70 6f 6e 73 65 20 61 74"
      "20 70 72 6f 6d 70 74 2e 18 0a 33 32 37 36 39 34 33 30"));
  REQUIRE(challenge);
  CHECK(challenge->code == code::access_challenge);
  CHECK(challenge->find(attr::state)->as_string() == "32769430");
}

TEST_CASE("encode then decode round-trips byte for byte") {
  const auto p = decode(rfc2865_7_1_request);
  REQUIRE(p);
  const auto again = encode(*p);
  REQUIRE(again);
  CHECK(*again == rfc2865_7_1_request);
  CHECK(*decode(*again) == *p);
}

TEST_CASE("every packet code of RFC 2865, 2866, 5176 and 5997 decodes; others are refused") {
  for (int c = 0; c < 256; ++c) {
    auto raw = rfc2865_7_1_request;
    raw[0] = static_cast<std::uint8_t>(c);
    const bool known = (c >= 1 && c <= 5) || c == 11 || c == 12 || c == 13 || (c >= 40 && c <= 45);
    const auto p = decode(raw);
    CHECK_MESSAGE(p.has_value() == known, "code ", c);
    if (!known) CHECK(p.error() == decode_error::unknown_code);
  }
}

TEST_CASE("the length field is honoured: trailing bytes ignored, short datagrams refused") {
  auto raw = rfc2865_7_1_request;
  raw.insert(raw.end(), {0xde, 0xad, 0xbe, 0xef});
  const auto p = decode(raw);
  REQUIRE(p);
  CHECK(p->attributes.size() == 4);
  CHECK(*encode(*p) == rfc2865_7_1_request);

  auto shorter = rfc2865_7_1_request;
  shorter.pop_back();
  CHECK(decode(shorter).error() == decode_error::length_exceeds_datagram);
  CHECK(decode(bytes(19, 1)).error() == decode_error::truncated_header);
  auto small = rfc2865_7_1_request;
  small[2] = 0, small[3] = 19;
  CHECK(decode(small).error() == decode_error::length_too_small);
}

TEST_CASE("packets of 4096 bytes decode and 4097 are refused") {
  packet p;
  while (true) {
    std::size_t len = 20;
    for (auto& a : p.attributes) len += 2 + a.value.size();
    const std::size_t left = 4096 - len;
    if (left == 0) break;
    p.attributes.push_back({attr::class_, bytes(std::min<std::size_t>(left - 2, 253), 7)});
  }
  auto raw = encode(p);
  REQUIRE(raw);
  CHECK(raw->size() == 4096);
  CHECK(decode(*raw));

  p.attributes.back().value.push_back(1);
  CHECK(encode(p).error() == encode_error::packet_too_long);
  raw->push_back(0);
  (*raw)[2] = 0x10, (*raw)[3] = 0x01;  // length 4097
  CHECK(decode(*raw).error() == decode_error::length_too_large);
}

TEST_CASE("attribute lengths 0, 1 and overruns are refused; 2 and 255 accepted") {
  auto raw = with_attribute(attr::class_, 0);
  CHECK(decode(raw));  // length 2: empty value is well-formed on the wire
  raw = with_attribute(attr::class_, 253);
  REQUIRE(raw.size() == 20 + 255);
  CHECK(decode(raw)->attributes[0].value.size() == 253);

  raw = with_attribute(attr::class_, 4);
  raw[21] = 0;
  CHECK(decode(raw).error() == decode_error::attribute_length_invalid);
  raw[21] = 1;
  CHECK(decode(raw).error() == decode_error::attribute_length_invalid);
  raw[21] = 7;  // one past the end
  CHECK(decode(raw).error() == decode_error::attribute_overrun);
  raw[21] = 255;
  CHECK(decode(raw).error() == decode_error::attribute_overrun);

  // a lone byte after the last attribute cannot be an attribute header
  raw = with_attribute(attr::class_, 4);
  raw.push_back(1);
  raw[3] = static_cast<std::uint8_t>(raw.size());
  CHECK(decode(raw).error() == decode_error::attribute_truncated);

  packet big;
  big.attributes.push_back({attr::class_, bytes(254, 0)});
  CHECK(encode(big).error() == encode_error::attribute_too_long);
}

TEST_CASE("unknown attributes and vendors are preserved") {
  packet p;
  p.add(250, std::string_view("opaque"));
  p.attributes.push_back({attr::vendor_specific, make_vsa(99999, 7, bytes{1, 2, 3})});
  p.attributes.push_back({attr::vendor_specific, bytes{0, 0, 0, 9, 0xff}});  // not sub-attributes
  const auto raw = encode(p);
  REQUIRE(raw);
  const auto back = decode(*raw);
  REQUIRE(back);
  CHECK(*back == p);
  const auto subs = split_vsa(back->attributes[1].value);
  REQUIRE(subs);
  REQUIRE(subs->size() == 1);
  CHECK((*subs)[0].vendor == 99999);
  CHECK((*subs)[0].type == 7);
  CHECK((*subs)[0].value == bytes{1, 2, 3});
  CHECK_FALSE(split_vsa(back->attributes[2].value));
}

TEST_CASE("vendor-specific layouts other than 1,1 split and build") {
  const vsa_format usr{4, 0};
  const auto v = make_vsa(429, 0x9801, bytes{9, 9}, usr);
  CHECK(v == bytes{0, 0, 1, 0xad, 0, 0, 0x98, 0x01, 9, 9});
  const auto s = split_vsa(v, usr);
  REQUIRE(s);
  CHECK((*s)[0].type == 0x9801);
  CHECK((*s)[0].value == bytes{9, 9});

  const vsa_format wide{2, 2};
  const auto w = make_vsa(1, 300, bytes{5}, wide);
  CHECK(split_vsa(w, wide)->front().type == 300);
  auto bad = w;
  bad[7] = 99;  // sub-attribute length past the end
  CHECK_FALSE(split_vsa(bad, wide));
}

TEST_CASE("concat joins attributes in order") {
  packet p;
  p.add(attr::eap_message, bytes{1, 2});
  p.add(attr::user_name, std::string_view("x"));
  p.add(attr::eap_message, bytes{3});
  CHECK(p.concat(attr::eap_message) == bytes{1, 2, 3});
  CHECK(p.count(attr::eap_message) == 2);
}

TEST_CASE("decode errors have messages") {
  std::error_code ec = decode_error::attribute_overrun;
  CHECK(ec.message() == "attribute overruns the packet");
  CHECK(std::string(ec.category().name()) == "radius.decode");
}
