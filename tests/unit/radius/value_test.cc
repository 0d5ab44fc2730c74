#include "radius/value.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "hex.h"

using namespace npsd::radius;
using npsd::test::contains;
using npsd::test::hex;

namespace {

const dictionary& dict() {
  // The shipped dictionary, plus a test vendor for the types it does not use.
  static const dictionary d = [] {
    auto loaded = dictionary::parse(
        "$INCLUDE dictionary\n"
        "VENDOR Test 32473\n"
        "BEGIN-VENDOR Test\n"
        "ATTRIBUTE Test-Byte      1 byte\n"
        "ATTRIBUTE Test-Short     2 short\n"
        "ATTRIBUTE Test-Signed    3 signed\n"
        "ATTRIBUTE Test-Integer64 4 integer64\n"
        "ATTRIBUTE Test-Ether     5 ether\n"
        "ATTRIBUTE Test-Combo     6 combo-ip\n"
        "ATTRIBUTE Test-V4-Prefix 7 ipv4prefix\n"
        "ATTRIBUTE Test-Tagged    8 octets has_tag\n"
        "ATTRIBUTE Test-TLV       9 tlv\n"
        "END-VENDOR Test\n"
        "VALUE Test-Byte  Low  1\n"
        "VALUE Test-Short High 65535\n",
        "value_test", NPSD_DICTIONARY_DIR);
    if (!loaded) FAIL(loaded.error().to_string());
    return std::move(loaded.value());
  }();
  return d;
}

const attribute_def& def(std::string_view name) {
  const attribute_def* a = dict().find(name);
  REQUIRE_MESSAGE(a != nullptr, name);
  return *a;
}

// text -> wire is `wire`, and wire -> text gives `shown` (the text itself by default).
void round_trip(std::string_view name, std::string_view text, const bytes& wire,
                std::string_view shown = {}) {
  CAPTURE(name);
  CAPTURE(text);
  const auto parsed = parse_value(def(name), text);
  REQUIRE_MESSAGE(parsed, (parsed ? std::string() : parsed.error()));
  CHECK(*parsed == wire);
  CHECK(format_value(def(name), wire) == (shown.empty() ? text : shown));
}

// The text is refused; returns the message.
std::string rejected(std::string_view name, std::string_view text) {
  CAPTURE(name);
  CAPTURE(text);
  const auto parsed = parse_value(def(name), text);
  REQUIRE_FALSE(parsed);
  return parsed.error();
}

bytes cat(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("integer: decimal or VALUE name in, VALUE name out when there is one") {
  round_trip("Service-Type", "Framed-User", hex("00 00 00 02"));
  round_trip("Service-Type", "2", hex("00 00 00 02"), "Framed-User");
  round_trip("Service-Type", "framed-user", hex("00 00 00 02"), "Framed-User");
  round_trip("Service-Type", "99", hex("00 00 00 63"));
  round_trip("Session-Timeout", "4294967295", hex("ff ff ff ff"));
  round_trip("Session-Timeout", "0", hex("00 00 00 00"));
  round_trip("NAS-Port-Type", "Virtual", hex("00 00 00 05"));
}

TEST_CASE("integer: negative, too large, empty and unknown names are rejected") {
  CHECK(rejected("Service-Type", "-1") ==
        "expected an unsigned 32-bit integer or a VALUE name for Service-Type");
  CHECK(rejected("Session-Timeout", "-1") ==
        "expected an unsigned 32-bit integer for Session-Timeout");
  rejected("Session-Timeout", "4294967296");
  rejected("Session-Timeout", "");
  rejected("Session-Timeout", "+5");
  rejected("Session-Timeout", " 5");
  rejected("Session-Timeout", "0x10");
  rejected("Service-Type", "Framed-Userx");
}

TEST_CASE("byte and short: ranges are checked") {
  round_trip("Test-Byte", "255", hex("ff"));
  round_trip("Test-Byte", "Low", hex("01"));
  round_trip("Test-Byte", "1", hex("01"), "Low");
  CHECK(rejected("Test-Byte", "256") == "expected an integer 0..255 or a VALUE name for Test-Byte");
  round_trip("Test-Short", "65534", hex("ff fe"));
  round_trip("Test-Short", "high", hex("ff ff"), "High");
  CHECK(contains(rejected("Test-Short", "65536"), "expected an integer 0..65535"));
}

TEST_CASE("signed and integer64") {
  round_trip("Test-Signed", "-5", hex("ff ff ff fb"));
  round_trip("Test-Signed", "2147483647", hex("7f ff ff ff"));
  round_trip("Test-Signed", "-2147483648", hex("80 00 00 00"));
  CHECK(rejected("Test-Signed", "2147483648") ==
        "expected a signed 32-bit integer for Test-Signed");
  rejected("Test-Signed", "+1");
  rejected("Test-Signed", "1.5");
  round_trip("Test-Integer64", "18446744073709551615", hex("ff ff ff ff ff ff ff ff"));
  round_trip("Test-Integer64", "4294967296", hex("00 00 00 01 00 00 00 00"));
  rejected("Test-Integer64", "18446744073709551616");
  rejected("Test-Integer64", "-1");
}

TEST_CASE("date: seconds since the epoch") {
  round_trip("Event-Timestamp", "1700000000", hex("65 53 f1 00"));
  round_trip("Event-Timestamp", "0", hex("00 00 00 00"));
  CHECK(contains(rejected("Event-Timestamp", "-1"),
                 "expected a time in seconds since 1970-01-01 UTC"));
  rejected("Event-Timestamp", "2024-01-01");
  rejected("Event-Timestamp", "4294967296");
}

TEST_CASE("ipaddr: dotted quad only") {
  round_trip("Framed-IP-Address", "192.0.2.1", hex("c0 00 02 01"));
  round_trip("Framed-IP-Address", "0.0.0.0", hex("00 00 00 00"));
  CHECK(rejected("Framed-IP-Address", "256.1.1.1") ==
        "expected an IPv4 address for Framed-IP-Address");
  rejected("Framed-IP-Address", "1.2.3");
  rejected("Framed-IP-Address", "1.2.3.4.5");
  rejected("Framed-IP-Address", "::1");
  rejected("Framed-IP-Address", "");
  rejected("Framed-IP-Address", "192.0.2.1 ");
}

TEST_CASE("ipv6addr: RFC 5952 text out") {
  round_trip("NAS-IPv6-Address", "2001:db8::1",
             hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"));
  round_trip("NAS-IPv6-Address", "2001:DB8:0:0:0:0:0:1",
             hex("20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"), "2001:db8::1");
  round_trip("NAS-IPv6-Address", "::", bytes(16, 0));
  CHECK(rejected("NAS-IPv6-Address", "2001:db8:::1") ==
        "expected an IPv6 address for NAS-IPv6-Address");
  rejected("NAS-IPv6-Address", "2001:db8::1::2");
  rejected("NAS-IPv6-Address", "12345::");
  rejected("NAS-IPv6-Address", "192.0.2.1");
  rejected("NAS-IPv6-Address", std::string(100, '1'));
}

TEST_CASE("combo-ip: IPv4 or IPv6 by length") {
  round_trip("Test-Combo", "10.1.2.3", hex("0a 01 02 03"));
  round_trip("Test-Combo", "fe80::1", hex("fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01"));
  CHECK(rejected("Test-Combo", "fe80::1::") == "expected an IPv4 or IPv6 address for Test-Combo");
}

TEST_CASE("ipv6prefix: reserved byte, length, full 16-byte prefix") {
  round_trip("Framed-IPv6-Prefix", "2001:db8::/32",
             hex("00 20 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00"));
  round_trip("Framed-IPv6-Prefix", "::/0", cat(hex("00 00"), bytes(16, 0)));
  round_trip("Framed-IPv6-Prefix", "2001:db8::1/128",
             hex("00 80 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"));
  CHECK(rejected("Framed-IPv6-Prefix", "2001:db8::/129") ==
        "expected an IPv6 prefix (address/0..128) for Framed-IPv6-Prefix");
  CHECK(
      contains(rejected("Framed-IPv6-Prefix", "2001:db8::1/64"), "no bits set after the first 64"));
  rejected("Framed-IPv6-Prefix", "2001:db8::");
  rejected("Framed-IPv6-Prefix", "2001:db8::/");
  rejected("Framed-IPv6-Prefix", "2001:db8::/-1");
  rejected("Framed-IPv6-Prefix", "192.0.2.0/24");
}

TEST_CASE("ipv6prefix: shorter prefixes from the wire are shown; malformed ones as hex") {
  const attribute_def& d = def("Framed-IPv6-Prefix");
  CHECK(format_value(d, hex("00 40 20 01 0d b8 00 00 00 01")) == "2001:db8:0:1::/64");
  CHECK(format_value(d, hex("00 00")) == "::/0");
  CHECK(format_value(d, cat(hex("00 81"), bytes(16, 0))) ==
        "0x0081" + std::string(32, '0'));                      // length 129
  CHECK(format_value(d, hex("00 40 20 01")) == "0x00402001");  // /64 needs 8 bytes
  CHECK(format_value(d, hex("00")) == "0x00");
}

TEST_CASE("ipv4prefix") {
  round_trip("Test-V4-Prefix", "192.0.2.0/24", hex("00 18 c0 00 02 00"));
  round_trip("Test-V4-Prefix", "0.0.0.0/0", hex("00 00 00 00 00 00"));
  rejected("Test-V4-Prefix", "192.0.2.0/33");
  CHECK(contains(rejected("Test-V4-Prefix", "192.0.2.1/24"), "no bits set after the first 24"));
}

TEST_CASE("ether: colon or dash separated, lowercase out") {
  round_trip("Test-Ether", "00:11:22:aa:bb:cc", hex("00 11 22 aa bb cc"));
  round_trip("Test-Ether", "00-11-22-AA-BB-CC", hex("00 11 22 aa bb cc"), "00:11:22:aa:bb:cc");
  CHECK(rejected("Test-Ether", "00:11:22:aa:bb") ==
        "expected a MAC address such as 00:11:22:aa:bb:cc for Test-Ether");
  rejected("Test-Ether", "00:11:22:aa:bb:cc:dd");
  rejected("Test-Ether", "00:11:22-aa:bb:cc");
  rejected("Test-Ether", "0g:11:22:aa:bb:cc");
  rejected("Test-Ether", "001122aabbcc");
  rejected("Test-Ether", "00.11.22.aa.bb.cc");
}

TEST_CASE("ifid: four groups of four hex digits") {
  round_trip("Framed-Interface-Id", "0211:22ff:fe33:4455", hex("02 11 22 ff fe 33 44 55"));
  rejected("Framed-Interface-Id", "0211:22ff:fe33");
  rejected("Framed-Interface-Id", "0211-22ff-fe33-4455");
}

TEST_CASE("octets: 0x-hex, or the bytes of other text") {
  round_trip("Class", "0xdeadbeef", hex("de ad be ef"));
  round_trip("Class", "0xDEADBEEF", hex("de ad be ef"), "0xdeadbeef");
  round_trip("Class", "0x", bytes{});
  const auto text = parse_value(def("Class"), "group=staff");
  REQUIRE(text);
  CHECK(*text == bytes{'g', 'r', 'o', 'u', 'p', '=', 's', 't', 'a', 'f', 'f'});
  CHECK(rejected("Class", "0x123") ==
        "expected 0x followed by an even number of hex digits for Class");
  rejected("Class", "0xzz");
  CHECK(format_value(def("Test-TLV"), hex("01 03 07")) == "0x010307");
  rejected("Test-TLV", "plain text");
}

TEST_CASE("octets[N]: the exact length is required") {
  round_trip("ARAP-Password", "0x00112233445566778899aabbccddeeff",
             hex("00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff"));
  CHECK(rejected("ARAP-Password", "0x0011") ==
        "expected exactly 16 bytes for ARAP-Password, got 2");
}

TEST_CASE("string: as is when printable UTF-8, else 0x-hex") {
  round_trip(
      "User-Name", "alice@example.com",
      bytes{'a', 'l', 'i', 'c', 'e', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'});
  round_trip("User-Name", "h\xc3\xa9llo", hex("68 c3 a9 6c 6c 6f"));
  round_trip("User-Name", "", bytes{});
  const attribute_def& d = def("User-Name");
  CHECK(format_value(d, hex("61 00 62")) == "0x610062");  // NUL
  CHECK(format_value(d, hex("61 0a")) == "0x610a");       // newline
  CHECK(format_value(d, hex("7f")) == "0x7f");            // DEL
  CHECK(format_value(d, hex("c3 28")) == "0xc328");       // bad continuation byte
  CHECK(format_value(d, hex("c0 af")) == "0xc0af");       // overlong '/'
  CHECK(format_value(d, hex("ed a0 80")) == "0xeda080");  // surrogate
  CHECK(format_value(d, hex("c2 85")) == "0xc285");       // C1 control (NEL)
  CHECK(format_value(d, hex("e2 82")) == "0xe282");       // truncated sequence
  CHECK(format_value(d, hex("f0 9f 98 80")) == "\xf0\x9f\x98\x80");
}

TEST_CASE("lengths: 253 bytes at most, 128 for User-Password, 239 for salted attributes") {
  CHECK(parse_value(def("Reply-Message"), std::string(253, 'x')));
  CHECK(rejected("Reply-Message", std::string(254, 'x')) ==
        "expected at most 253 bytes for Reply-Message, got 254");
  CHECK(parse_value(def("User-Password"), std::string(128, 'x')));
  CHECK(contains(rejected("User-Password", std::string(129, 'x')), "at most 128 bytes"));
  CHECK(parse_value(def("MS-MPPE-Send-Key"), "0x" + std::string(2 * 239, 'a')));
  CHECK(contains(rejected("MS-MPPE-Send-Key", "0x" + std::string(2 * 240, 'a')),
                 "at most 239 bytes"));
}

TEST_CASE("wire values of the wrong length are shown as hex") {
  CHECK(format_value(def("Framed-IP-Address"), hex("c0 00 02")) == "0xc00002");
  CHECK(format_value(def("Session-Timeout"), hex("00 00 01")) == "0x000001");
  CHECK(format_value(def("NAS-IPv6-Address"), hex("20 01")) == "0x2001");
  CHECK(format_value(def("Test-Ether"), hex("00 11")) == "0x0011");
  CHECK(format_value(def("Event-Timestamp"), bytes{}) == "0x");
}

TEST_CASE("tagged integer: the tag replaces the first byte") {
  const attribute_def& type = def("Tunnel-Type");
  const auto v = parse_tagged_value(type, 1, "VLAN");
  REQUIRE(v);
  CHECK(*v == hex("01 00 00 0d"));
  CHECK(*parse_tagged_value(type, 0, "13") == hex("00 00 00 0d"));
  CHECK(*parse_tagged_value(type, 31, "L2TP") == hex("1f 00 00 03"));
  const tagged_view t = split_tag(type, *v);
  CHECK(t.tag == 1);
  CHECK(format_value(type, t.value) == "VLAN");

  const auto too_big = parse_tagged_value(type, 1, "16777216");
  REQUIRE_FALSE(too_big);
  CHECK(contains(too_big.error(), "below 16777216"));
  CHECK(*parse_tagged_value(type, 1, "16777215") == hex("01 ff ff ff"));
}

TEST_CASE("tagged string: a tag byte before the value; tag 0 left out when unambiguous") {
  const attribute_def& group = def("Tunnel-Private-Group-Id");
  CHECK(*parse_tagged_value(group, 1, "100") == hex("01 31 30 30"));
  CHECK(*parse_tagged_value(group, 0, "100") == hex("31 30 30"));  // '1' > 0x1F: no tag byte
  CHECK(*parse_tagged_value(group, 0,
                            "\x05"
                            "ab") == hex("00 05 61 62"));  // would look like tag 5
  CHECK(*parse_tagged_value(group, 0, "") == hex("00"));

  const bytes tagged_wire = hex("01 31 30 30");
  const tagged_view with_tag = split_tag(group, tagged_wire);
  CHECK(with_tag.tag == 1);
  CHECK(format_value(group, with_tag.value) == "100");
  const bytes untagged_wire = hex("31 30 30");
  const tagged_view untagged = split_tag(group, untagged_wire);
  CHECK(untagged.tag == 0);
  CHECK(untagged.value.size() == 3);

  CHECK(*parse_tagged_value(def("Test-Tagged"), 2, "0xff") == hex("02 ff"));
  CHECK(contains(parse_tagged_value(group, 1, std::string(253, 'x')).error(), "at most 252 bytes"));
}

TEST_CASE("tagged and salted: Tunnel-Password always carries its tag byte") {
  const attribute_def& password = def("Tunnel-Password");
  CHECK(*parse_tagged_value(password, 0, "secret") == hex("00 73 65 63 72 65 74"));
  CHECK(*parse_tagged_value(password, 3, "secret") == hex("03 73 65 63 72 65 74"));
  const bytes wire = hex("00 73 65");
  const tagged_view t = split_tag(password, wire);  // the tag is there even when 0
  CHECK(t.tag == 0);
  CHECK(t.value.size() == 2);
}

TEST_CASE("tags: out of range, or on an attribute without has_tag, are rejected") {
  const auto bad_tag = parse_tagged_value(def("Tunnel-Type"), 32, "VLAN");
  REQUIRE_FALSE(bad_tag);
  CHECK(bad_tag.error() == "expected a tag 0..31 for Tunnel-Type, got 32");
  const auto untagged = parse_tagged_value(def("User-Name"), 1, "bob");
  REQUIRE_FALSE(untagged);
  CHECK(untagged.error() == "User-Name does not take a tag");
  const auto bad_value = parse_tagged_value(def("Tunnel-Type"), 1, "Teleport");
  REQUIRE_FALSE(bad_value);
  CHECK(contains(bad_value.error(), "for Tunnel-Type"));
  CHECK(split_tag(def("User-Name"), hex("01 02")).tag == 0);
}
