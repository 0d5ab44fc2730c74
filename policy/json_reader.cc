#include "policy/json_reader.h"

#include <algorithm>

#include <fmt/format.h>

namespace npsd::policy {

namespace {
// RFC 6901 escaping of one reference token.
std::string escape_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}
}  // namespace

std::string_view json_type_name(const nlohmann::json& j) noexcept {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "a value";
  }
}

void json_reader::fail(std::string_view what) const {
  throw config_error(fmt::format("{}: {}", ptr_.empty() ? "/" : ptr_, what));
}

void json_reader::expect_object(std::initializer_list<std::string_view> allowed) const {
  if (!j_.is_object()) fail(fmt::format("expected an object, found {}", json_type_name(j_)));
  for (const auto& [k, v] : j_.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", a);
      json_reader(v, ptr_ + "/" + escape_token(k))
          .fail(fmt::format("unknown key \"{}\" (expected one of {})", k, list));
    }
  }
}

bool json_reader::has(std::string_view key) const {
  return j_.is_object() && j_.contains(key);
}

json_reader json_reader::at(std::string_view key) const {
  if (!has(key)) fail(fmt::format("missing required key \"{}\"", key));
  return {j_.at(std::string(key)), ptr_ + "/" + escape_token(key)};
}

std::optional<json_reader> json_reader::get(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return at(key);
}

std::string json_reader::string() const {
  if (!j_.is_string()) fail(fmt::format("expected a string, found {}", json_type_name(j_)));
  return j_.get<std::string>();
}

std::string json_reader::non_empty_string() const {
  auto s = string();
  if (s.empty()) fail("expected a non-empty string");
  return s;
}

bool json_reader::boolean() const {
  if (!j_.is_boolean()) fail(fmt::format("expected true or false, found {}", json_type_name(j_)));
  return j_.get<bool>();
}

std::int64_t json_reader::integer(std::int64_t min, std::int64_t max) const {
  if (!j_.is_number_integer())
    fail(fmt::format("expected an integer from {} to {}, found {}", min, max, json_type_name(j_)));
  if (j_.is_number_unsigned() && j_.get<std::uint64_t>() > static_cast<std::uint64_t>(max))
    fail(fmt::format("expected an integer from {} to {}, found {}", min, max, j_.dump()));
  const auto v = j_.get<std::int64_t>();
  if (v < min || v > max)
    fail(fmt::format("expected an integer from {} to {}, found {}", min, max, v));
  return v;
}

std::string json_reader::one_of(std::initializer_list<std::string_view> choices) const {
  auto s = string();
  if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
    std::string list;
    for (auto c : choices) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", c);
    fail(fmt::format("expected one of {}, found \"{}\"", list, s));
  }
  return s;
}

std::size_t json_reader::array_size() const {
  if (!j_.is_array()) fail(fmt::format("expected an array, found {}", json_type_name(j_)));
  return j_.size();
}

json_reader json_reader::operator[](std::size_t i) const {
  return {j_.at(i), fmt::format("{}/{}", ptr_, i)};
}

void json_reader::for_each(const std::function<void(const json_reader&)>& f) const {
  const auto n = array_size();
  for (std::size_t i = 0; i < n; ++i) f((*this)[i]);
}

std::string json_reader::string_or(std::string_view key, std::string fallback) const {
  const auto r = get(key);
  return r ? r->string() : std::move(fallback);
}

bool json_reader::boolean_or(std::string_view key, bool fallback) const {
  const auto r = get(key);
  return r ? r->boolean() : fallback;
}

std::int64_t json_reader::integer_or(std::string_view key, std::int64_t fallback,
                                     std::int64_t min, std::int64_t max) const {
  const auto r = get(key);
  return r ? r->integer(min, max) : fallback;
}

}  // namespace npsd::policy
