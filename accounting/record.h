#pragma once
// What the store keeps: an Accounting-Request's fields (taken from the packet by a pure
// function) and an authentication event (built by the server from its decision).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "radius/dictionary.h"
#include "radius/packet.h"

namespace npsd::accounting {

using time_ms = std::int64_t;  // milliseconds since 1970-01-01 UTC

// Acct-Status-Type values (RFC 2866 5.1).
namespace status {
inline constexpr std::uint32_t start = 1;
inline constexpr std::uint32_t stop = 2;
inline constexpr std::uint32_t interim_update = 3;
inline constexpr std::uint32_t accounting_on = 7;
inline constexpr std::uint32_t accounting_off = 8;
}  // namespace status

struct accounting_record {
  time_ms received = 0;
  std::string client;          // the RADIUS client's friendly name
  std::string client_address;  // the packet's source address
  std::string nas_ip;          // NAS-IP-Address or NAS-IPv6-Address
  std::string nas_identifier;
  std::uint32_t status_type = 0;
  std::string session_id;
  std::string multi_session_id;
  std::string user_name;
  std::string framed_ip;
  std::string calling_station_id;
  std::string called_station_id;
  std::optional<std::int64_t> nas_port;
  std::optional<std::int64_t> nas_port_type;
  std::optional<std::int64_t> session_time;  // seconds
  std::uint64_t input_octets = 0;   // Acct-Input-Gigawords << 32 | Acct-Input-Octets
  std::uint64_t output_octets = 0;
  std::uint64_t input_packets = 0;
  std::uint64_t output_packets = 0;
  std::optional<std::int64_t> terminate_cause;
  std::uint32_t delay_time = 0;
  std::optional<std::int64_t> event_timestamp;  // seconds, as sent
  std::string class_;           // printable text, or 0x-hex
  std::string attributes_json;  // every attribute by dictionary name (secrets left out)

  // Who the sessions belong to: NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier, else the
  // client's address.
  std::string nas() const;
  // When it happened: Event-Timestamp when sent, else its arrival less Acct-Delay-Time.
  time_ms event_time() const;
  // Identical for a record and its retransmissions (whatever their Acct-Delay-Time), different
  // for records a NAS means as distinct: the client, the NAS, the session, the status type,
  // what the record reports, and when. The time is the Event-Timestamp when sent (stable
  // across retransmissions); else the derived event time in 30-second buckets, `bucket_offset`
  // naming a neighbouring bucket (a resend may fall just across a boundary: the store looks
  // at both neighbours before it inserts).
  std::string natural_key(int bucket_offset = 0) const;
  bool has_exact_time() const noexcept { return event_timestamp.has_value(); }
};

// Takes the fields out of a (verified) Accounting-Request. Pure: never fails; a field whose
// attribute is absent or malformed stays empty.
accounting_record record_from_request(const radius::packet& p, const radius::dictionary& dict,
                                      std::string_view client, std::string_view client_address,
                                      time_ms received);

// Every attribute as a JSON object by dictionary name: {"User-Name": "alice",
// "Acct-Session-Time": 60, ...}; attributes that occur more than once become arrays; vendor
// attributes by their names inside Vendor-Specific; unknown ones as "Attr-N" or
// "Vendor-V-Attr-N" with 0x-hex values. Hidden and secret attributes and
// Message-Authenticator are left out.
std::string attributes_as_json(const radius::packet& p, const radius::dictionary& dict);

// Text from the network made safe to store and show: invalid UTF-8 and control characters
// become U+FFFD, so no export, page or terminal gets bytes it cannot take.
std::string safe_text(std::string_view v);

// A Class value as text: as is when printable ASCII, else 0x-hex.
std::string class_text(radius::byte_view v);

struct auth_event {
  time_ms time = 0;
  std::string client;
  std::string client_address;
  std::string nas_ip;
  std::string nas_identifier;
  std::string user_name;  // as received
  std::string identity;   // what was authenticated (mapped name or certificate identity)
  int packet_type = 0;    // 2 Access-Accept, 3 Access-Reject
  int reason = 0;         // NPS reason code
  std::string crp;
  std::string np;
  std::string auth_method;
  std::optional<std::int64_t> eap_type;
  std::string cert_subject;
  std::string cert_issuer;
  std::string cert_serial;
  std::string calling_station_id;
  std::string called_station_id;
  std::optional<std::int64_t> nas_port_type;
  std::string class_;
  std::int64_t latency_us = 0;
};

// The request's fields an authentication event carries (NAS, stations, port type).
void fill_request_fields(auth_event& e, const radius::packet& request);

}  // namespace npsd::accounting
