#include "radius/dictionary.h"

#include <doctest/doctest.h>
#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "hex.h"

using namespace npsd::radius;
namespace fs = std::filesystem;

using npsd::test::contains;

namespace {

const dictionary& shipped() {
  static const dictionary d = [] {
    auto loaded = dictionary::load_directory(NPSD_DICTIONARY_DIR);
    if (!loaded) FAIL(loaded.error().to_string());
    return std::move(loaded.value());
  }();
  return d;
}

const attribute_def& shipped_attr(std::string_view name) {
  const attribute_def* a = shipped().find(name);
  REQUIRE_MESSAGE(a != nullptr, name);
  return *a;
}

dictionary parse_ok(std::string_view text) {
  auto d = dictionary::parse(text, "test.dict");
  REQUIRE_MESSAGE(d, (d ? std::string() : d.error().to_string()));
  return std::move(d.value());
}

dictionary_error parse_error(std::string_view text) {
  auto d = dictionary::parse(text, "test.dict");
  REQUIRE_FALSE(d);
  return d.error();
}

// A scratch directory for include tests, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "npsd-dictionary-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  void write(const std::string& name, std::string_view text) const {
    std::ofstream out(path / name);
    out << text;
    REQUIRE(out.good());
  }
};

const fs::path freeradius_dir = "/usr/share/freeradius";

}  // namespace

// --- the dictionaries npsd ships ---------------------------------------------------------

TEST_CASE("shipped dictionary: User-Name is standard attribute 1 of type string") {
  const attribute_def& a = shipped_attr("User-Name");
  CHECK(a.vendor == 0);
  CHECK(a.number == 1);
  CHECK(a.type == attr_type::string);
  CHECK(a.parent == nullptr);
  CHECK_FALSE(a.has_tag);
  CHECK(a.encrypt == 0);
}

TEST_CASE("shipped dictionary: lookups by name ignore case and agree with lookups by number") {
  const dictionary& d = shipped();
  CHECK(d.find("user-name") == d.find("USER-NAME"));
  CHECK(d.find("user-name") == d.find(0, 1));
  CHECK(d.find("No-Such-Attribute") == nullptr);
  CHECK(d.find(0, 17) == nullptr);
  CHECK(d.find(311, 1) == d.find("MS-CHAP-Response"));
  CHECK(d.size() == d.attributes().size());
  CHECK(d.size() > 100);
}

TEST_CASE("shipped dictionary: every attribute the core names in packet.h is defined") {
  const std::pair<std::uint8_t, std::string_view> core[] = {
      {attr::user_name, "User-Name"},
      {attr::user_password, "User-Password"},
      {attr::chap_password, "CHAP-Password"},
      {attr::nas_ip_address, "NAS-IP-Address"},
      {attr::nas_port, "NAS-Port"},
      {attr::service_type, "Service-Type"},
      {attr::framed_protocol, "Framed-Protocol"},
      {attr::framed_ip_address, "Framed-IP-Address"},
      {attr::reply_message, "Reply-Message"},
      {attr::state, "State"},
      {attr::class_, "Class"},
      {attr::vendor_specific, "Vendor-Specific"},
      {attr::session_timeout, "Session-Timeout"},
      {attr::idle_timeout, "Idle-Timeout"},
      {attr::called_station_id, "Called-Station-Id"},
      {attr::calling_station_id, "Calling-Station-Id"},
      {attr::nas_identifier, "NAS-Identifier"},
      {attr::proxy_state, "Proxy-State"},
      {attr::acct_status_type, "Acct-Status-Type"},
      {attr::acct_delay_time, "Acct-Delay-Time"},
      {attr::acct_session_id, "Acct-Session-Id"},
      {attr::event_timestamp, "Event-Timestamp"},
      {attr::nas_port_type, "NAS-Port-Type"},
      {attr::tunnel_type, "Tunnel-Type"},
      {attr::tunnel_medium_type, "Tunnel-Medium-Type"},
      {attr::tunnel_password, "Tunnel-Password"},
      {attr::eap_message, "EAP-Message"},
      {attr::message_authenticator, "Message-Authenticator"},
      {attr::tunnel_private_group_id, "Tunnel-Private-Group-Id"},
      {attr::nas_ipv6_address, "NAS-IPv6-Address"},
  };
  for (const auto& entry : core) {
    const attribute_def* a = shipped().find(0, entry.first);
    REQUIRE_MESSAGE(a != nullptr, entry.second);
    CHECK(a->name == entry.second);
  }
}

TEST_CASE("shipped dictionary: NAS-Port-Type Virtual is 5, in both directions") {
  const attribute_def& a = shipped_attr("NAS-Port-Type");
  CHECK(a.value_of("Virtual") == 5u);
  CHECK(a.value_of("virtual") == 5u);
  CHECK(a.name_of(5) == "Virtual");
  CHECK(a.value_of("Wireless-802.11") == 19u);
  CHECK(a.value_of("Teleportation") == std::nullopt);
  CHECK(a.name_of(4000) == std::nullopt);
}

TEST_CASE("shipped dictionary: the MPPE keys are Microsoft (311) attributes hidden with a salt") {
  const attribute_def& recv = shipped_attr("MS-MPPE-Recv-Key");
  CHECK(recv.vendor == 311);
  CHECK(recv.number == 17);
  CHECK(recv.encrypt == 2);
  CHECK(recv.type == attr_type::octets);
  const attribute_def& send = shipped_attr("MS-MPPE-Send-Key");
  CHECK(send.vendor == 311);
  CHECK(send.number == 16);
  CHECK(send.encrypt == 2);
  CHECK(shipped().find(311, 17) == &recv);

  const vendor_def* ms = shipped().find_vendor("microsoft");
  REQUIRE(ms != nullptr);
  CHECK(ms->id == 311);
  CHECK(ms->name == "Microsoft");
  CHECK(ms->type_size == 1);
  CHECK(ms->length_size == 1);
  CHECK(shipped().find_vendor(311) == ms);
  CHECK(shipped().find_vendor(9) == nullptr);
}

TEST_CASE("shipped dictionary: Microsoft RAS and NAP attributes") {
  CHECK(shipped_attr("MS-RAS-Vendor").number == 9);
  CHECK(shipped_attr("MS-RAS-Version").number == 18);
  CHECK(shipped_attr("MS-RAS-Client-Name").number == 34);
  CHECK(shipped_attr("MS-RAS-Client-Version").number == 35);
  CHECK(shipped_attr("MS-Acct-Auth-Type").value_of("EAP") == 5u);
  CHECK(shipped_attr("MS-Acct-EAP-Type").value_of("PEAP") == 25u);
  CHECK(shipped_attr("MS-Machine-Name").number == 50);
  CHECK(shipped_attr("MS-Identity-Type").number == 41);
  CHECK(shipped_attr("MS-Quarantine-State").value_of("Probation") == 2u);
  CHECK(shipped_attr("MS-Quarantine-Grace-Time").type == attr_type::date);
  const attribute_def& nas_type = shipped_attr("MS-Network-Access-Server-Type");
  CHECK(nas_type.vendor == 311);
  CHECK(nas_type.number == 47);
  CHECK(nas_type.value_of("Remote-Access-Server") == 2u);
  CHECK(nas_type.name_of(4) == "Wireless-Access-Point");
  CHECK(shipped_attr("MS-CHAP-MPPE-Keys").encrypt == 1);
  CHECK(shipped_attr("MS-CHAP2-Response").fixed_length == 50);
}

TEST_CASE("shipped dictionary: tunnel attributes are tagged, Tunnel-Password also salted") {
  const attribute_def& type = shipped_attr("Tunnel-Type");
  CHECK(type.has_tag);
  CHECK(type.type == attr_type::integer);
  CHECK(type.value_of("VLAN") == 13u);
  CHECK(type.value_of("L2TP") == 3u);
  const attribute_def& medium = shipped_attr("Tunnel-Medium-Type");
  CHECK(medium.has_tag);
  CHECK(medium.value_of("IEEE-802") == 6u);
  CHECK(shipped_attr("Tunnel-Private-Group-Id").has_tag);
  const attribute_def& password = shipped_attr("Tunnel-Password");
  CHECK(password.has_tag);
  CHECK(password.encrypt == 2);
  CHECK(shipped_attr("User-Password").encrypt == 1);
  CHECK_FALSE(shipped_attr("User-Password").has_tag);
}

TEST_CASE("shipped dictionary: accounting and dynamic authorization values") {
  const attribute_def& status = shipped_attr("Acct-Status-Type");
  CHECK(status.value_of("Interim-Update") == 3u);
  CHECK(status.name_of(7) == "Accounting-On");
  const attribute_def& cause = shipped_attr("Acct-Terminate-Cause");
  CHECK(cause.value_of("Idle-Timeout") == 4u);
  CHECK(cause.value_of("Supplicant-Restart") == 19u);  // RFC 3580
  const attribute_def& error_cause = shipped_attr("Error-Cause");
  CHECK(error_cause.number == 101);
  CHECK(error_cause.value_of("Session-Context-Not-Found") == 503u);
  CHECK(error_cause.name_of(404) == "Invalid-Request");
  CHECK(shipped_attr("Service-Type").value_of("Authorize-Only") == 17u);
  CHECK(shipped_attr("Service-Type").value_of("Framed-User") == 2u);
}

TEST_CASE("shipped dictionary: RFC 2869 and RFC 3162 attributes have their types") {
  const attribute_def& eap = shipped_attr("EAP-Message");
  CHECK(eap.number == 79);
  CHECK(eap.type == attr_type::octets);
  CHECK(eap.concat);
  const attribute_def& ma = shipped_attr("Message-Authenticator");
  CHECK(ma.number == 80);
  CHECK(ma.type == attr_type::octets);
  CHECK(shipped_attr("Event-Timestamp").type == attr_type::date);
  CHECK(shipped_attr("NAS-IPv6-Address").type == attr_type::ipv6addr);
  CHECK(shipped_attr("Framed-IPv6-Prefix").type == attr_type::ipv6prefix);
  CHECK(shipped_attr("Framed-Interface-Id").type == attr_type::ifid);
  CHECK(shipped_attr("Vendor-Specific").type == attr_type::vsa);
}

// --- behaviour of the loader -------------------------------------------------------------

TEST_CASE("moving a dictionary keeps the attribute and vendor pointers valid") {
  dictionary d = parse_ok("VENDOR V 42\nATTRIBUTE A 1 integer V\nVALUE A One 1\n");
  const attribute_def* a = d.find("A");
  const vendor_def* v = d.find_vendor("V");
  REQUIRE(a != nullptr);
  dictionary moved = std::move(d);
  CHECK(moved.find("A") == a);
  CHECK(moved.find(42, 1) == a);
  CHECK(moved.find_vendor(42) == v);
  dictionary assigned;
  assigned = std::move(moved);
  CHECK(assigned.find("a") == a);
  CHECK(a->value_of("one") == 1u);
}

TEST_CASE("type names round trip") {
  for (const attribute_def& a : shipped().attributes()) {
    CHECK(attr_type_from_name(attr_type_name(a.type)) == a.type);
  }
  CHECK(attr_type_name(attr_type::combo_ip) == "combo-ip");
  CHECK(attr_type_name(attr_type::short_) == "short");
  CHECK(attr_type_from_name("String") == attr_type::string);
  CHECK(attr_type_from_name("uint16") == std::nullopt);
}

TEST_CASE("numbers may be hexadecimal; keywords and types ignore case; comments are dropped") {
  const dictionary d = parse_ok(
      "# a comment\n"
      "\n"
      "attribute  Hex-Attr  0x1f  Integer  # trailing comment\r\n"
      "VALUE Hex-Attr Big 0x10\n");
  const attribute_def* a = d.find("Hex-Attr");
  REQUIRE(a != nullptr);
  CHECK(a->number == 31);
  CHECK(a->type == attr_type::integer);
  CHECK(a->value_of("big") == 16u);
}

TEST_CASE("a VALUE may come before its ATTRIBUTE") {
  const dictionary d = parse_ok("VALUE Later Yes 1\nATTRIBUTE Later 5 integer\n");
  CHECK(d.find("Later")->value_of("Yes") == 1u);
}

TEST_CASE("a name defined again with the same number is accepted and the first definition kept") {
  const dictionary d = parse_ok("ATTRIBUTE Dup 7 integer\nATTRIBUTE Dup 7 string\n");
  CHECK(d.size() == 1);
  CHECK(d.find("Dup")->type == attr_type::integer);
}

TEST_CASE("aliases: several names for one number, the first one wins by number") {
  const dictionary d = parse_ok(
      "ATTRIBUTE New-Name 9 integer\nATTRIBUTE Old-Name 9 integer\n"
      "VALUE New-Name First 1\nVALUE New-Name Second 1\nVALUE New-Name Second 1\n");
  CHECK(d.find(0, 9) == d.find("New-Name"));
  CHECK(d.find("Old-Name")->number == 9);
  CHECK(d.find("New-Name")->name_of(1) == "First");
  CHECK(d.find("New-Name")->value_of("Second") == 1u);
}

TEST_CASE("vendor formats: format=t,l sets the sizes of the vendor type and length fields") {
  const dictionary d = parse_ok(
      "VENDOR Plain 1\n"
      "VENDOR Wide 2 format=2,1\n"
      "VENDOR Usr-Like 429 format=4,0\n"
      "VENDOR Wimax-Like 24757 format=1,1,c\n"
      "VENDOR Two-Two 8164 format=2,2\n");
  const auto check = [&](std::string_view name, std::uint8_t t, std::uint8_t l, bool c) {
    const vendor_def* v = d.find_vendor(name);
    REQUIRE_MESSAGE(v != nullptr, name);
    CHECK(v->type_size == t);
    CHECK(v->length_size == l);
    CHECK(v->continuation == c);
    CHECK(v->format().type_size == t);
    CHECK(v->format().length_size == l);
  };
  check("Plain", 1, 1, false);
  check("Wide", 2, 1, false);
  check("usr-like", 4, 0, false);
  check("Wimax-Like", 1, 1, true);
  check("Two-Two", 2, 2, false);
  CHECK(d.find_vendor(429)->name == "Usr-Like");
}

TEST_CASE("vendor formats: invalid ones are rejected") {
  for (const char* format :
       {"format=3,1", "format=1,3", "format=2", "format=1,1,x", "format=2,1,c", "size=1,1"}) {
    const dictionary_error e = parse_error(std::string("VENDOR Bad 7 ") + format + "\n");
    CHECK(e.line == 1);
    CHECK_MESSAGE(contains(e.message, "invalid vendor format"), e.message);
  }
  CHECK(contains(parse_error("VENDOR Bad 0\n").message, "invalid vendor id"));
  CHECK(contains(parse_error("VENDOR Bad 16777216\n").message, "invalid vendor id"));
}

TEST_CASE("vendor attribute numbers are limited by the vendor's type size") {
  const dictionary d = parse_ok(
      "VENDOR Wide 2 format=2,1\nBEGIN-VENDOR Wide\nATTRIBUTE Wide-Attr 300 integer\nEND-VENDOR "
      "Wide\n"
      "VENDOR Big 3 format=4,0\nBEGIN-VENDOR Big\nATTRIBUTE Big-Attr 0x01100002 string\nEND-VENDOR "
      "Big\n");
  CHECK(d.find(2, 300) == d.find("Wide-Attr"));
  CHECK(d.find("Big-Attr")->number == 0x01100002);
  const dictionary_error e = parse_error(
      "VENDOR Narrow 4\nBEGIN-VENDOR Narrow\nATTRIBUTE Too-Big 256 integer\nEND-VENDOR Narrow\n");
  CHECK(e.line == 3);
  CHECK(contains(e.message, "out of range 0..255 for vendor Narrow"));
}

TEST_CASE("the legacy form names the vendor in the fifth field") {
  const dictionary d =
      parse_ok("VENDOR Old 77\nATTRIBUTE Old-Attr 3 string Old\nATTRIBUTE Std-Attr 3 string\n");
  CHECK(d.find("Old-Attr")->vendor == 77);
  CHECK(d.find(77, 3) == d.find("Old-Attr"));
  CHECK(d.find(0, 3) == d.find("Std-Attr"));
}

TEST_CASE("flags: has_tag, encrypt, concat, array, virtual and secret are read") {
  const dictionary d = parse_ok(
      "ATTRIBUTE T 1 string has_tag,encrypt=2\n"
      "ATTRIBUTE C 2 octets concat\n"
      "ATTRIBUTE A 3 ipaddr array\n"
      "ATTRIBUTE S 4 octets secret,virtual\n"
      "ATTRIBUTE E 5 string encrypt=3\n");
  CHECK(d.find("T")->has_tag);
  CHECK(d.find("T")->encrypt == 2);
  CHECK(d.find("C")->concat);
  CHECK(d.find("A")->array);
  CHECK(d.find("S")->secret);
  CHECK(d.find("S")->is_virtual);
  CHECK(d.find("E")->encrypt == 3);
}

TEST_CASE("octets[N] gives a fixed length") {
  const dictionary d = parse_ok("ATTRIBUTE Fixed 70 octets[16]\n");
  CHECK(d.find("Fixed")->type == attr_type::octets);
  CHECK(d.find("Fixed")->fixed_length == 16);
  CHECK(contains(parse_error("ATTRIBUTE Fixed 70 octets[0]\n").message, "invalid length"));
  CHECK(contains(parse_error("ATTRIBUTE Fixed 70 octets[16\n").message, "invalid length"));
  CHECK(contains(parse_error("ATTRIBUTE Fixed 70 integer[4]\n").message,
                 "only valid for octets and string"));
}

TEST_CASE("TLVs: children by BEGIN-TLV and by dotted numbers") {
  const dictionary d = parse_ok(
      "VENDOR V 5\n"
      "BEGIN-VENDOR V\n"
      "ATTRIBUTE Outer 1 tlv\n"
      "BEGIN-TLV Outer\n"
      "ATTRIBUTE Inner-A 1 integer\n"
      "ATTRIBUTE Nested 2 tlv\n"
      "END-TLV Outer\n"
      "ATTRIBUTE Inner-B 1.3 string\n"
      "ATTRIBUTE Deep 1.2.7 ipaddr\n"
      "END-VENDOR V\n");
  const attribute_def* outer = d.find("Outer");
  REQUIRE(outer != nullptr);
  const attribute_def* a = d.find("Inner-A");
  REQUIRE(a != nullptr);
  CHECK(a->parent == outer);
  CHECK(a->vendor == 5);
  CHECK(a->number == 1);
  CHECK(d.find_child(*outer, 1) == a);
  CHECK(d.find_child(*outer, 3) == d.find("Inner-B"));
  const attribute_def* nested = d.find("Nested");
  CHECK(d.find_child(*nested, 7) == d.find("Deep"));
  CHECK(d.find("Deep")->parent == nested);
  CHECK(d.find(5, 1) == outer);  // children are not top-level attributes
  CHECK(d.find(5, 3) == nullptr);
}

TEST_CASE("TLVs: errors") {
  CHECK(contains(parse_error("ATTRIBUTE Plain 1 integer\nATTRIBUTE Child 1.1 integer\n").message,
                 "Plain is not of type tlv"));
  CHECK(contains(parse_error("ATTRIBUTE Child 9.1 integer\n").message,
                 "refers to TLV 9, which is not defined"));
  CHECK(contains(parse_error("ATTRIBUTE Plain 1 integer\nBEGIN-TLV Plain\n").message, "not tlv"));
  const dictionary_error e = parse_error("ATTRIBUTE T 1 tlv\nBEGIN-TLV T\nATTRIBUTE C 1 byte\n");
  CHECK(e.line == 2);
  CHECK(contains(e.message, "not closed by END-TLV"));
  CHECK(contains(parse_error("ATTRIBUTE T 1 tlv\nEND-TLV T\n").message,
                 "without a matching BEGIN-TLV"));
}

// --- errors: each names the file, the line and what was expected ---------------------------

TEST_CASE("error: unknown type") {
  const dictionary_error e = parse_error("ATTRIBUTE Good 1 string\nATTRIBUTE Bad 2 uint16\n");
  CHECK(e.file == "test.dict");
  CHECK(e.line == 2);
  CHECK(contains(e.message, "unknown type 'uint16'"));
  CHECK(contains(e.message, "expected string, octets"));
}

TEST_CASE("error: extended attribute types are unsupported, by name") {
  for (const char* type : {"extended", "long-extended", "evs"}) {
    const dictionary_error e = parse_error(std::string("ATTRIBUTE X 241 ") + type + "\n");
    CHECK(e.line == 1);
    CHECK(contains(e.message, "unsupported type '" + std::string(type) + "'"));
  }
}

TEST_CASE("error: bad attribute numbers") {
  for (const char* number : {"12x", "-1", "0x", "", "1..2", "99999999999"}) {
    const dictionary_error e =
        parse_error(std::string("\n\nATTRIBUTE Bad ") + number + " integer\n");
    CHECK(e.line == 3);
    CHECK_MESSAGE((contains(e.message, "invalid attribute number") ||
                   contains(e.message, "expected 'ATTRIBUTE")),
                  e.message);
  }
  const dictionary_error range = parse_error("ATTRIBUTE Bad 256 integer\n");
  CHECK(contains(range.message, "out of range 1..255 for a standard attribute"));
  CHECK(contains(parse_error("ATTRIBUTE Bad 0 integer\n").message, "out of range"));
}

TEST_CASE("error: wrong number of fields") {
  CHECK(parse_error("ATTRIBUTE Lonely\n").message ==
        "expected 'ATTRIBUTE <name> <number> <type> [flags]'");
  CHECK(parse_error("ATTRIBUTE A 1 string has_tag extra\n").line == 1);
  CHECK(contains(parse_error("VALUE A B\n").message,
                 "expected 'VALUE <attribute> <value-name> <number>'"));
  CHECK(contains(parse_error("VENDOR OnlyName\n").message, "expected 'VENDOR <name> <id>"));
}

TEST_CASE("error: unknown keyword") {
  const dictionary_error e = parse_error("ATTRIBUTE A 1 string\nPROTOCOL RADIUS 1\n");
  CHECK(e.line == 2);
  CHECK(contains(e.message, "unknown keyword 'PROTOCOL'"));
}

TEST_CASE("error: unknown and invalid flags") {
  const dictionary_error e = parse_error("ATTRIBUTE A 1 string has_tag,bogus\n");
  CHECK(e.line == 1);
  CHECK(contains(e.message, "unknown flag 'bogus'"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 string bogus\n").message, "unknown flag 'bogus'"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 string encrypt=4\n").message,
                 "invalid flag 'encrypt=4'"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 ipaddr has_tag\n").message, "has_tag is only valid"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 integer encrypt=1\n").message,
                 "encrypt=1 is not valid for integer"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 string concat\n").message,
                 "concat is only valid for octets"));
  CHECK(parse_ok("ATTRIBUTE A 1 integer encrypt=2\n").find("A")->encrypt ==
        2);  // salted integers exist
}

TEST_CASE("error: a VALUE of an attribute that is never defined names the VALUE's line") {
  const dictionary_error e = parse_error(
      "ATTRIBUTE A 1 integer\nVALUE A Yes 1\nVALUE Missing No 0\nATTRIBUTE B 2 integer\n");
  CHECK(e.file == "test.dict");
  CHECK(e.line == 3);
  CHECK(e.message == "VALUE 'No' is for attribute 'Missing', which is never defined");
}

TEST_CASE("error: VALUEs must fit their attribute") {
  CHECK(contains(parse_error("ATTRIBUTE A 1 string\nVALUE A Word 1\n").message, "has type string"));
  const dictionary_error e = parse_error("ATTRIBUTE B 1 byte\nVALUE B Big 256\n");
  CHECK(e.line == 2);
  CHECK(contains(e.message, "does not fit attribute B of type byte (0..255)"));
  CHECK(contains(parse_error("ATTRIBUTE S 1 short\nVALUE S Big 65536\n").message, "(0..65535)"));
  CHECK(contains(parse_error("ATTRIBUTE A 1 integer\nVALUE A N -1\n").message,
                 "invalid VALUE number '-1'"));
  const dictionary_error conflict =
      parse_error("ATTRIBUTE A 1 integer\nVALUE A Yes 1\nVALUE A yes 2\n");
  CHECK(conflict.line == 3);
  CHECK(contains(conflict.message, "conflicting VALUE 'yes' for A: 2 here, 1 before"));
}

TEST_CASE("error: a conflicting redefinition names where the first one was") {
  const dictionary_error e = parse_error("ATTRIBUTE Name 1 string\n\nATTRIBUTE Name 2 string\n");
  CHECK(e.line == 3);
  CHECK(contains(e.message, "conflicting redefinition of 'Name'"));
  CHECK(contains(e.message, "number 1"));
  CHECK(contains(e.message, "test.dict:1"));
  const dictionary_error vendor =
      parse_error("VENDOR V 9\nATTRIBUTE Name 1 string\nATTRIBUTE Name 1 string V\n");
  CHECK(vendor.line == 3);
  CHECK(contains(vendor.message, "conflicting redefinition"));
  const dictionary_error vendor_id = parse_error("VENDOR V 9\nVENDOR V 10\n");
  CHECK(vendor_id.line == 2);
  CHECK(contains(vendor_id.message, "conflicting redefinition of vendor V"));
  parse_ok("VENDOR V 9\nVENDOR V 9\n");
}

TEST_CASE("error: vendor blocks must match") {
  const dictionary_error mismatch =
      parse_error("VENDOR A 1\nVENDOR B 2\nBEGIN-VENDOR A\nATTRIBUTE X 1 string\nEND-VENDOR B\n");
  CHECK(mismatch.line == 5);
  CHECK(mismatch.message == "END-VENDOR B does not match BEGIN-VENDOR A at line 3");
  CHECK(contains(parse_error("END-VENDOR A\n").message, "without a matching BEGIN-VENDOR"));
  CHECK(contains(parse_error("BEGIN-VENDOR Nobody\n").message, "unknown vendor 'Nobody'"));
  const dictionary_error unclosed =
      parse_error("VENDOR A 1\nBEGIN-VENDOR A\nATTRIBUTE X 1 string\n");
  CHECK(unclosed.line == 2);
  CHECK(contains(unclosed.message, "not closed by END-VENDOR"));
  CHECK(contains(parse_error("VENDOR A 1\nVENDOR B 2\nBEGIN-VENDOR A\nBEGIN-VENDOR B\n").message,
                 "inside the block of A"));
  CHECK(contains(
      parse_error("VENDOR A 1\nBEGIN-VENDOR A format=Extended-Vendor-Specific-5\n").message,
      "not supported"));
}

TEST_CASE("error: to_string is file:line: message") {
  const dictionary_error e = parse_error("ATTRIBUTE A 1 nope\n");
  CHECK(e.to_string() == "test.dict:1: " + e.message);
  CHECK(dictionary_error{"f", 0, "m"}.to_string() == "f: m");
}

// --- files and includes -------------------------------------------------------------------

TEST_CASE("$INCLUDE is relative to the including file; $INCLUDE- skips a missing file") {
  temp_dir dir;
  fs::create_directory(dir.path / "sub");
  dir.write("top", "$INCLUDE sub/one\n$INCLUDE- not-there\nATTRIBUTE Top-Attr 2 integer\n");
  dir.write("sub/one", "$INCLUDE two\nVALUE Top-Attr Yes 1\n");  // resolved in sub/
  dir.write("sub/two", "ATTRIBUTE Two-Attr 1 string\n");
  auto d = dictionary::load(dir.path / "top");
  REQUIRE_MESSAGE(d, (d ? std::string() : d.error().to_string()));
  CHECK(d->find("Two-Attr") != nullptr);
  CHECK(d->find("Top-Attr")->value_of("Yes") == 1u);

  auto parsed = dictionary::parse("$INCLUDE sub/two\n", "inline", dir.path);
  REQUIRE(parsed);
  CHECK(parsed->find("Two-Attr") != nullptr);
}

TEST_CASE("load_directory reads dir/dictionary") {
  temp_dir dir;
  dir.write("dictionary", "ATTRIBUTE Only 1 string\n");
  auto d = dictionary::load_directory(dir.path);
  REQUIRE(d);
  CHECK(d->size() == 1);
}

TEST_CASE("error: a missing include names the including file and line") {
  temp_dir dir;
  dir.write("top", "ATTRIBUTE A 1 string\n$INCLUDE missing.dict\n");
  auto d = dictionary::load(dir.path / "top");
  REQUIRE_FALSE(d);
  CHECK(d.error().file == (dir.path / "top").string());
  CHECK(d.error().line == 2);
  CHECK(contains(d.error().message, "cannot read included file"));
  CHECK(contains(d.error().message, "missing.dict"));
  CHECK(contains(d.error().message, "No such file"));
}

TEST_CASE("error: a missing top file") {
  auto d = dictionary::load("/nonexistent/npsd/dictionary");
  REQUIRE_FALSE(d);
  CHECK(d.error().line == 0);
  CHECK(contains(d.error().to_string(), "/nonexistent/npsd/dictionary: cannot read dictionary"));
}

TEST_CASE("error: an include cycle is reported, not followed") {
  temp_dir dir;
  dir.write("a", "ATTRIBUTE A 1 string\n$INCLUDE b\n");
  dir.write("b", "\n$INCLUDE ./a\n");
  auto d = dictionary::load(dir.path / "a");
  REQUIRE_FALSE(d);
  CHECK(d.error().line == 2);
  CHECK(d.error().file == (dir.path / "b").string());
  CHECK(contains(d.error().message, "include cycle"));

  dir.write("self", "$INCLUDE self\n");
  auto self = dictionary::load(dir.path / "self");
  REQUIRE_FALSE(self);
  CHECK(contains(self.error().message, "include cycle"));
}

TEST_CASE("including the same file twice, not in a cycle, is fine") {
  temp_dir dir;
  dir.write("common", "ATTRIBUTE Common 1 string\nVALUE Count One 1\n");
  dir.write("top", "ATTRIBUTE Count 2 integer\n$INCLUDE common\n$INCLUDE common\n");
  auto d = dictionary::load(dir.path / "top");
  REQUIRE_MESSAGE(d, (d ? std::string() : d.error().to_string()));
  CHECK(d->size() == 2);
}

TEST_CASE("an error inside an included file names that file") {
  temp_dir dir;
  dir.write("top", "$INCLUDE inner\n");
  dir.write("inner", "ATTRIBUTE Ok 1 string\n\nATTRIBUTE Broken 2 nonsense\n");
  auto d = dictionary::load(dir.path / "top");
  REQUIRE_FALSE(d);
  CHECK(d.error().file == (dir.path / "inner").string());
  CHECK(d.error().line == 3);
}

// --- real FreeRADIUS vendor dictionaries (skipped when freeradius-common is absent) ---------

TEST_CASE("FreeRADIUS vendor dictionaries parse" *
          doctest::skip(!fs::exists(freeradius_dir / "dictionary.usr"))) {
  for (const char* file :
       {"dictionary.microsoft", "dictionary.cisco", "dictionary.juniper", "dictionary.aruba",
        "dictionary.usr", "dictionary.wimax", "dictionary.ascend"}) {
    CAPTURE(file);
    const std::string text = "$INCLUDE dictionary.rfc2865\n$INCLUDE dictionary.rfc2866\n$INCLUDE " +
                             (freeradius_dir / file).string() + "\n";
    auto d = dictionary::parse(text, "freeradius", NPSD_DICTIONARY_DIR);
    CHECK_MESSAGE(d, (d ? std::string() : d.error().to_string()));
  }
  auto usr = dictionary::load(freeradius_dir / "dictionary.usr");
  REQUIRE(usr);
  const vendor_def* v = usr->find_vendor("USR");
  REQUIRE(v != nullptr);
  CHECK(v->id == 429);
  CHECK(v->type_size == 4);
  CHECK(v->length_size == 0);

  auto ms = dictionary::load(freeradius_dir / "dictionary.microsoft");
  REQUIRE(ms);
  CHECK(ms->find("MS-MPPE-Send-Key")->encrypt == 2);
  CHECK(ms->find(311, 17) == ms->find("MS-MPPE-Recv-Key"));
}
