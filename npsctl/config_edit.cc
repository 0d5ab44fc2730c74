#include "npsctl/config_edit.h"

#include <fmt/core.h>

#include <system_error>

#include "npsctl/command.h"
#include "npsctl/file_edit.h"
#include "npsctl/table.h"

namespace npsd::npsctl {

namespace fs = std::filesystem;

namespace {

fs::path base_of(const fs::path& path) { return fs::absolute(path).parent_path(); }

}  // namespace

config_file new_config(const config_options& o) {
  config_file f;
  f.path = o.config_path();
  f.target = edit_target(f.path);
  f.dictionary_dir = o.dictionary_dir();
  std::error_code ec;
  f.exists = fs::exists(f.target, ec);
  f.doc = ordered_json::object();
  return f;
}

config_file read_config_document(const config_options& o) {
  config_file f = new_config(o);
  if (!f.exists)
    throw command_error(exit_failure,
                        fmt::format("{}: no such configuration file (create one with npsctl init "
                                    "--config {})",
                                    f.path.string(), f.path.string()));
  const auto text = read_text_file(f.target, max_config_bytes);
  try {
    f.doc = ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw command_error(exit_bad_input,
                        fmt::format("{}: not valid JSON (at byte {})", f.path.string(), e.byte));
  }
  if (!f.doc.is_object())
    throw command_error(exit_bad_input, f.path.string() + ": expected a JSON object");
  return f;
}

config_file open_config(const config_options& o) {
  config_file f = read_config_document(o);
  const auto checked = check_config(f.doc, f.path, f.dictionary_dir);
  if (!checked)
    throw command_error(exit_bad_input, checked.error() + " (refusing to edit an invalid file)");
  return f;
}

std::string config_text(const ordered_json& doc) {
  try {
    return doc.dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    throw command_error(exit_bad_input, "an argument is not valid UTF-8");
  }
}

expected<std::shared_ptr<const policy::config>, std::string> check_config(
    const ordered_json& doc, const fs::path& path, const fs::path& dictionary_dir) {
  return policy::parse_config(config_text(doc), path.string(), base_of(path), dictionary_dir);
}

std::shared_ptr<const policy::config> save_config(config_file& f) {
  const auto text = config_text(f.doc);
  auto checked = policy::parse_config(text, f.path.string(), base_of(f.path), f.dictionary_dir);
  if (!checked)
    throw command_error(exit_bad_input,
                        "the change would make the configuration invalid, nothing written: " +
                            checked.error());
  replace_file(f.target, text, {.keep_backup = true, .mode = std::nullopt});
  f.exists = true;
  return std::move(*checked);
}

void report_removed(std::string_view noun, const std::string& name, const config_file& f,
                    bool json) {
  if (json) {
    ordered_json out = ordered_json::object();
    out["removed"] = name;
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("removed {} {} from {}\n", noun, quote(name), f.path.string());
  fmt::print("npsd applies it when it reloads its configuration (npsctl reload)\n");
}

std::string quote(std::string_view s) { return fmt::format("\"{}\"", s); }

std::size_t require_entry(const ordered_json& doc, const char* array, std::string_view noun,
                          const std::string& name) {
  if (const auto idx = find_entry(doc, array, name)) return *idx;
  std::vector<std::string> names;
  for (const auto& n : entry_names(doc, array)) names.push_back(quote(n));
  throw command_error(exit_bad_input,
                      fmt::format("no {} named {} ({})", noun, quote(name),
                                  names.empty() ? std::string("there are none")
                                                : "there are: " + join(names)));
}

void require_unique_name(const ordered_json& doc, const char* array, std::string_view noun,
                         const std::string& name, std::size_t except) {
  const auto idx = find_entry(doc, array, name);
  if (idx && *idx != except)
    throw command_error(
        exit_bad_input,
        fmt::format("a {} named {} already exists (names are compared without regard to case)",
                    noun, quote(doc[array][*idx]["name"].get<std::string>())));
}

}  // namespace npsd::npsctl
