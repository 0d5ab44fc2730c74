#include "npsctl/constraint_options.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "npsctl/command.h"
#include "npsctl/condition_options.h"
#include "npsctl/file_edit.h"
#include "npsctl/table.h"
#include "policy/model.h"

namespace npsd::npsctl {

using ordered_json = nlohmann::ordered_json;

namespace {

constexpr constraint_spec constraint_specs[] = {
    {"authentication_methods", "--auth-method", "Authentication Methods"},
    {"idle_timeout", "--idle-timeout", "Idle Timeout (seconds)"},
    {"session_timeout", "--session-timeout", "Session Timeout (seconds)"},
    {"called_station_id", "--constraint-called-station-id", "Called Station ID"},
    {"calling_station_id", "--constraint-calling-station-id", "Calling Station ID"},
    {"day_and_time", "--constraint-day-time", "Day and Time Restrictions"},
    {"nas_port_type", "--constraint-nas-port-type", "NAS Port Type"},
    {"certificate_ekus", "--constraint-cert-eku", "Certificate EKUs required"},
    {"certificate_issuer", "--constraint-cert-issuer", "Certificate issuer (regex)"},
};

}  // namespace

std::span<const constraint_spec> constraint_catalogue() { return constraint_specs; }

void add_constraint_options(CLI::App* cmd, constraint_options& o, bool for_set) {
  const char* group = "Constraints (checked once the conditions match; failing rejects)";
  cmd->add_option("--auth-method", o.auth_methods,
                  "Allowed authentication method: PAP, CHAP, MS-CHAPv2, EAP-TLS, PEAP-TLS, "
                  "PEAP-MSCHAPv2, EAP-MSCHAPv2; repeatable")
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--idle-timeout", o.idle_timeout,
                  "Idle timeout in seconds (returned as Idle-Timeout)")
      ->group(group);
  cmd->add_option("--session-timeout", o.session_timeout,
                  "Session timeout in seconds (returned as Session-Timeout)")
      ->group(group);
  cmd->add_option("--constraint-called-station-id", o.called_station_id,
                  "Regex that Called-Station-Id must match")
      ->group(group);
  cmd->add_option("--constraint-calling-station-id", o.calling_station_id,
                  "Regex that Calling-Station-Id must match")
      ->group(group);
  cmd->add_option("--constraint-day-time", o.day_time,
                  "When access is allowed, e.g. 'Mon-Fri 07:00-20:00'; repeatable")
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--constraint-day-time-zone", o.day_time_zone,
                  "Time zone of the --constraint-day-time windows")
      ->group(group);
  cmd->add_option("--constraint-nas-port-type", o.nas_port_type,
                  "NAS-Port-Type value name or number the request must have; repeatable")
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--constraint-cert-eku", o.cert_ekus,
                  "EKU OID the client certificate must carry, e.g. 1.3.6.1.4.1.311.87; repeatable")
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--constraint-cert-issuer", o.cert_issuer,
                  "Regex that the client certificate's issuer DN must match")
      ->group(group);
  if (for_set)
    cmd->add_option("--clear-constraint", o.clear,
                    "Remove one constraint (its option name, e.g. idle-timeout); repeatable")
        ->allow_extra_args(false)
        ->group(group);
}

void apply_constraints(const constraint_options& o, ordered_json& c) {
  if (!c.is_object()) c = ordered_json::object();
  for (const auto& name : o.clear)
    c.erase(find_in_catalogue(constraint_catalogue(), name, "--clear-constraint", "constraint").key);
  if (!o.auth_methods.empty()) {
    ordered_json arr = ordered_json::array();
    for (const auto& m : o.auth_methods) {
      const auto parsed = policy::parse_auth_method(m);
      arr.push_back(parsed ? std::string(policy::auth_method_name(*parsed)) : m);
    }
    c["authentication_methods"] = std::move(arr);
  }
  if (o.idle_timeout) c["idle_timeout"] = *o.idle_timeout;
  if (o.session_timeout) c["session_timeout"] = *o.session_timeout;
  if (o.called_station_id) c["called_station_id"] = *o.called_station_id;
  if (o.calling_station_id) c["calling_station_id"] = *o.calling_station_id;
  if (!o.day_time.empty())
    c["day_and_time"] = day_time_value(o.day_time, o.day_time_zone, "--constraint-day-time");
  else if (o.day_time_zone)
    throw command_error(exit_bad_input, "--constraint-day-time-zone needs --constraint-day-time");
  if (!o.nas_port_type.empty()) {
    ordered_json arr = ordered_json::array();
    for (const auto& v : o.nas_port_type) arr.push_back(value_or_number(v));
    c["nas_port_type"] = std::move(arr);
  }
  if (!o.cert_ekus.empty()) c["certificate_ekus"] = o.cert_ekus;
  if (o.cert_issuer) c["certificate_issuer"] = *o.cert_issuer;
}

}  // namespace npsd::npsctl
