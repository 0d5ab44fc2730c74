#include "npsctl/policy_display.h"

#include <fmt/core.h>

#include <span>

#include "npsctl/constraint_options.h"
#include "npsctl/table.h"

namespace npsd::npsctl {

using ordered_json = nlohmann::ordered_json;

namespace {

std::string text_of(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& e : v) parts.push_back(text_of(e));
    return join(parts);
  }
  return v.dump();
}

std::string format_window(const ordered_json& w) {
  if (!w.is_object()) return w.dump();
  std::string days = "every day";
  if (w.contains("days")) {
    std::vector<std::string> d;
    for (const auto& e : w["days"]) d.push_back(text_of(e));
    days = join(d, ",");
  }
  const std::string from = w.contains("from") ? text_of(w["from"]) : "00:00";
  const std::string to = w.contains("to") ? text_of(w["to"]) : "24:00";
  if (from == "00:00" && to == "24:00") return days + " all day";
  return days + " " + from + "-" + to;
}

std::string format_attribute_condition(const ordered_json& a) {
  if (!a.is_object()) return a.dump();
  const std::string name = a.contains("name") ? text_of(a["name"]) : "?";
  if (a.contains("match")) return name + " ~ " + text_of(a["match"]);
  if (a.contains("values")) return name + " = " + text_of(a["values"]);
  return a.dump();
}

std::string format_value(const std::string& key, const ordered_json& v) {
  if (key == "day_and_time") return format_day_time(v);
  if (key == "attributes" && v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& a : v) parts.push_back(format_attribute_condition(a));
    return join(parts, "; ");
  }
  return text_of(v);
}

std::string yes_no(const ordered_json& p, const char* key, bool fallback) {
  const auto it = p.find(key);
  const bool v = it != p.end() && it->is_boolean() ? it->get<bool>() : fallback;
  return v ? "yes" : "no";
}

constexpr int label_width = 30;

void print_section(const char* title, const std::vector<label_value>& items,
                   const char* when_empty, bool as_assignments = false) {
  if (items.empty()) {
    fmt::print("{:<{}}{}\n", std::string(title) + ":", label_width, when_empty);
    return;
  }
  fmt::print("{}:\n", title);
  for (const auto& [label, value] : items) {
    if (as_assignments)
      fmt::print("  {} = {}\n", label, value);
    else
      fmt::print("  {:<{}}{}\n", label + ":", label_width - 2, value);
  }
}

}  // namespace

secret_attributes::secret_attributes(const ordered_json& doc, const std::filesystem::path& config,
                                     const std::filesystem::path& dictionary_dir) {
  std::filesystem::path dir = dictionary_dir;
  if (const auto it = doc.find("dictionary"); it != doc.end() && it->is_string()) {
    dir = it->get<std::string>();
    if (dir.is_relative()) dir = std::filesystem::absolute(config).parent_path() / dir;
  }
  if (auto d = radius::dictionary::load_directory(dir))
    dict_ = std::make_shared<const radius::dictionary>(std::move(*d));
}

bool secret_attributes::is_secret(std::string_view attribute) const {
  if (!dict_) return true;
  const auto* def = dict_->find(attribute);
  return def != nullptr && def->is_secret();
}

ordered_json without_secrets(ordered_json p, const secret_attributes& secrets) {
  if (!p.is_object() || !p.contains("settings") || !p["settings"].is_object()) return p;
  auto& settings = p["settings"];
  if (!settings.contains("attributes") || !settings["attributes"].is_array()) return p;
  for (auto& a : settings["attributes"]) {
    if (!a.is_object() || !a.contains("value")) continue;
    const auto name = a.contains("name") && a["name"].is_string() ? a["name"].get<std::string>()
                                                                  : std::string();
    if (secrets.is_secret(name)) a["value"] = hidden_value;
  }
  return p;
}

std::string format_day_time(const ordered_json& day_time) {
  const ordered_json* windows = &day_time;
  std::string zone;
  if (day_time.is_object()) {
    if (day_time.contains("windows")) windows = &day_time["windows"];
    if (day_time.contains("time_zone")) zone = " (" + text_of(day_time["time_zone"]) + ")";
  }
  std::vector<std::string> parts;
  if (windows->is_array())
    for (const auto& w : *windows) parts.push_back(format_window(w));
  else
    parts.push_back(windows->dump());
  return join(parts, "; ") + zone;
}

namespace {

// One (label, value) per key of `object`, the label from the catalogue (else the key itself).
template <class Spec>
std::vector<label_value> describe(const ordered_json& object, std::span<const Spec> catalogue) {
  std::vector<label_value> out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) {
    std::string label = key;
    for (const auto& s : catalogue)
      if (key == s.key) label = s.label;
    out.emplace_back(label, format_value(key, value));
  }
  return out;
}

}  // namespace

std::vector<label_value> describe_conditions(const ordered_json& conditions) {
  return describe(conditions, condition_catalogue());
}

std::vector<label_value> describe_constraints(const ordered_json& constraints) {
  return describe(constraints, constraint_catalogue());
}

std::string summarize_conditions(const ordered_json& conditions) {
  std::vector<std::string> parts;
  for (const auto& [label, value] : describe_conditions(conditions))
    parts.push_back(label + " = " + value);
  return parts.empty() ? "(none: matches every request)" : join(parts, "; ");
}

void print_policy(const ordered_json& p, policy_type type) {
  auto field = [](const std::string& label, const std::string& value) {
    fmt::print("{:<{}}{}\n", label + ":", label_width, value);
  };
  field("Name", p.contains("name") ? text_of(p["name"]) : "");
  field("Processing order", p.contains("order") ? text_of(p["order"]) : "(position in the file)");
  field("State", yes_no(p, "enabled", true) == "yes" ? "enabled" : "disabled");
  if (type == policy_type::connection_request) {
    field("Action", p.contains("action") ? text_of(p["action"]) : "authenticate");
  } else {
    field("Access permission", p.contains("access") ? text_of(p["access"]) : "");
    field("Ignore dial-in", yes_no(p, "ignore_dial_in", false));
  }
  if (p.contains("description") && !text_of(p["description"]).empty())
    field("Description", text_of(p["description"]));
  print_section("Conditions", describe_conditions(p.value("conditions", ordered_json::object())),
                "(none: matches every request)");
  if (type == policy_type::connection_request) {
    std::vector<label_value> manipulations;
    if (p.contains("manipulations") && p["manipulations"].is_array())
      for (const auto& m : p["manipulations"])
        manipulations.emplace_back(
            m.contains("attribute") ? text_of(m["attribute"]) : "?",
            fmt::format("find \"{}\" replace with \"{}\"",
                        m.contains("find") ? text_of(m["find"]) : "",
                        m.contains("replace") ? text_of(m["replace"]) : ""));
    print_section("Attribute manipulation", manipulations, "(none)");
    return;
  }
  print_section("Constraints", describe_constraints(p.value("constraints", ordered_json::object())),
                "(none)");
  std::vector<label_value> reply;
  if (p.contains("settings") && p["settings"].is_object() && p["settings"].contains("attributes"))
    for (const auto& a : p["settings"]["attributes"]) {
      std::string name = a.contains("name") ? text_of(a["name"]) : "?";
      if (a.contains("tag")) name += ":" + text_of(a["tag"]);
      reply.emplace_back(name, a.contains("value") ? text_of(a["value"]) : "");
    }
  print_section("RADIUS attributes returned", reply, "(none)", /*as_assignments=*/true);
}

}  // namespace npsd::npsctl
