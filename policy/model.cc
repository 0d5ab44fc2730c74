#include "radius/ascii.h"
#include "policy/model.h"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace npsd::policy {

namespace {


constexpr std::array<std::pair<auth_method, std::string_view>, 7> method_names{{
    {auth_method::pap, "PAP"},
    {auth_method::chap, "CHAP"},
    {auth_method::mschapv2, "MS-CHAPv2"},
    {auth_method::eap_tls, "EAP-TLS"},
    {auth_method::peap_tls, "PEAP-TLS"},
    {auth_method::peap_mschapv2, "PEAP-MSCHAPv2"},
    {auth_method::eap_mschapv2, "EAP-MSCHAPv2"},
}};

constexpr std::array<std::pair<auth_type, std::string_view>, 5> type_names{{
    {auth_type::pap, "PAP"},
    {auth_type::chap, "CHAP"},
    {auth_type::mschapv2, "MS-CHAPv2"},
    {auth_type::eap, "EAP"},
    {auth_type::unauthenticated, "Unauthenticated"},
}};

// The name of `k` in a table of (value, name) pairs, and the value of a name (case-insensitive).
template <class K, std::size_t N>
std::string_view name_in(const std::array<std::pair<K, std::string_view>, N>& table, K k) noexcept {
  for (const auto& [key, name] : table)
    if (key == k) return name;
  return "unknown";
}

template <class K, std::size_t N>
std::optional<K> parse_in(const std::array<std::pair<K, std::string_view>, N>& table,
                          std::string_view s) noexcept {
  for (const auto& [key, name] : table)
    if (ascii_iequals(name, s)) return key;
  return std::nullopt;
}

}  // namespace

bool regex_match::matches(std::string_view value) const {
  if (re.empty()) return false;  // never compiled (a default-constructed regex_match)
  try {
    return boost::regex_search(value.begin(), value.end(), re);
  } catch (const std::runtime_error&) {
    // Boost throws when a match exceeds its complexity limit: count it as no match.
    return false;
  }
}

std::string_view auth_method_name(auth_method m) noexcept { return name_in(method_names, m); }

std::optional<auth_method> parse_auth_method(std::string_view s) noexcept {
  return parse_in(method_names, s);
}

std::string_view auth_type_name(auth_type t) noexcept { return name_in(type_names, t); }

std::optional<auth_type> parse_auth_type(std::string_view s) noexcept {
  return parse_in(type_names, s);
}

auth_type auth_type_of(auth_method m) noexcept {
  switch (m) {
    case auth_method::pap:
      return auth_type::pap;
    case auth_method::chap:
      return auth_type::chap;
    case auth_method::mschapv2:
      return auth_type::mschapv2;
    case auth_method::eap_tls:
    case auth_method::peap_tls:
    case auth_method::peap_mschapv2:
    case auth_method::eap_mschapv2:
      return auth_type::eap;
  }
  return auth_type::unauthenticated;
}

std::optional<std::uint8_t> eap_type_of(auth_method m) noexcept {
  switch (m) {
    case auth_method::eap_tls:
      return eap_type_tls;
    case auth_method::peap_tls:
    case auth_method::peap_mschapv2:
      return eap_type_peap;
    case auth_method::eap_mschapv2:
      return eap_type_mschapv2;
    case auth_method::pap:
    case auth_method::chap:
    case auth_method::mschapv2:
      return std::nullopt;
  }
  return std::nullopt;
}

bool value_set::contains(std::uint32_t v) const noexcept {
  return std::find(values.begin(), values.end(), v) != values.end();
}

bool day_time::allows(std::chrono::system_clock::time_point t) const {
  const auto lt = zone.local(t);
  const auto day_bit = [](int d) { return static_cast<std::uint8_t>(1u << d); };
  const auto today = day_bit(lt.weekday);
  const auto yesterday = day_bit((lt.weekday + 6) % 7);
  const int m = lt.minute_of_day;
  for (const auto& w : windows) {
    if (w.from_minute <= w.to_minute) {
      if ((w.days & today) && m >= w.from_minute && m < w.to_minute) return true;
    } else {
      // Spans midnight: the evening part belongs to the listed day, the morning part to the
      // day after it.
      if ((w.days & today) && m >= w.from_minute) return true;
      if ((w.days & yesterday) && m < w.to_minute) return true;
    }
  }
  return false;
}

std::string_view crp_action_name(crp_action a) noexcept {
  switch (a) {
    case crp_action::authenticate:
      return "authenticate";
    case crp_action::accept_without_credentials:
      return "accept_without_credentials";
    case crp_action::reject:
      return "reject";
  }
  return "unknown";
}

}  // namespace npsd::policy
