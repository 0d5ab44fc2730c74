// npsctl export / npsctl import: the whole configuration as one JSON document, shared secrets
// included (Export-NpsConfiguration / Import-NpsConfiguration), and its safe restoration or
// merging.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "ldap/local_directory.h"
#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/file_edit.h"
#include "npsctl/policy_common.h"
#include "npsctl/policy_order.h"

namespace npsd::npsctl {

namespace fs = std::filesystem;

namespace {

// ---- export ----

struct export_options {
  config_options cfg;
  std::optional<std::string> output;
  bool inline_secrets = false;
};

// Replaces each client's secret_file by the secret it holds (as npsd reads it: trailing line
// endings removed). Returns how many clients refer to a secret file.
std::size_t secret_files(ordered_json& doc, const fs::path& config, bool inline_them) {
  std::size_t n = 0;
  if (!doc.contains("clients") || !doc["clients"].is_array()) return 0;
  for (auto& c : doc["clients"]) {
    if (!c.is_object() || !c.contains("secret_file") || !c["secret_file"].is_string()) continue;
    ++n;
    if (!inline_them) continue;
    fs::path p = c["secret_file"].get<std::string>();
    if (p.is_relative()) p = fs::absolute(config).parent_path() / p;
    auto s = read_text_file(p, 64 * 1024);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    ordered_json replaced = ordered_json::object();
    for (auto& [k, v] : c.items()) {
      if (k == "secret_file")
        replaced["secret"] = s;
      else
        replaced[k] = v;
    }
    c = std::move(replaced);
  }
  return n;
}

void add_backup_export(CLI::App& app) {
  auto o = std::make_shared<export_options>();
  auto* cmd = app.add_subcommand(
      "export",
      "Write the whole configuration as JSON, shared secrets included, for backup or moving "
      "(Export-NpsConfiguration)");
  add_config_options(cmd, o->cfg, /*with_json=*/false);
  cmd->add_option("--output,-o", o->output, "File to write (mode 0600); default: standard output");
  cmd->add_flag("--inline-secrets", o->inline_secrets,
                "Copy the secrets of clients that use secret_file into the export");
  cmd->callback([o] {
    auto f = read_config_document(o->cfg);
    if (const auto checked = check_config(f.doc, f.path, f.dictionary_dir); !checked)
      fmt::print(stderr, "warning: exporting a configuration that does not validate: {}\n",
                 checked.error());
    const auto files = secret_files(f.doc, f.path, o->inline_secrets);
    const auto text = config_text(f.doc);
    if (o->output) {
      replace_file(*o->output, text, {.keep_backup = false, .mode = 0600});
      fmt::print(stderr, "exported {} to {} (mode 0600)\n", f.path.string(), *o->output);
    } else {
      fmt::print("{}", text);
    }
    fmt::print(stderr,
               "warning: the export contains the RADIUS shared secrets: keep it as safe as the "
               "configuration itself\n");
    if (files > 0 && !o->inline_secrets)
      fmt::print(stderr,
                 "note: {} client(s) keep their secret in a file (secret_file); the export only "
                 "names the file (--inline-secrets copies the secrets in)\n",
                 files);
  });
}

// ---- import ----

struct import_options {
  config_options cfg;
  std::string file;
  bool merge = false;
  bool replace = false;
};

constexpr const char* merged_keys[] = {"clients", "connection_request_policies",
                                       "network_policies"};

struct merge_count {
  std::size_t added = 0;
  std::size_t replaced = 0;
};

// Merges the named entries of `from` into `into` by name (case-insensitive): same-named ones
// are replaced in place, the others appended.
merge_count merge_named(ordered_json& into_doc, const char* key, const ordered_json& from,
                        const std::string& source) {
  merge_count n;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const auto& e = from[i];
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
      throw command_error(exit_bad_input,
                          fmt::format("{}: /{}/{}: expected an object with a \"name\"", source,
                                      key, i));
    if (const auto idx = find_entry(into_doc, key, e["name"].get<std::string>())) {
      into_doc[key][*idx] = e;
      ++n.replaced;
    } else {
      into_doc[key].push_back(e);
      ++n.added;
    }
  }
  return n;
}

// Policies: the imported ones keep their processing order; existing ones at the same order move
// down, as when a policy is added with --order.
merge_count merge_policies(ordered_json& doc, const policy_kind& kind, ordered_json imported,
                           const std::string& source) {
  bool materialized = false;
  auto& array = editable_policies(doc, kind, &materialized);
  make_orders_explicit(array);
  make_orders_explicit(imported);
  const auto n = merge_named(doc, kind.key, imported, source);
  for (const auto i : processing_sequence(imported)) {
    const auto& e = imported[i];
    const auto idx = find_entry(doc, kind.key, e["name"].get<std::string>());
    place_at_order(array, *idx, e["order"].get<std::int64_t>());
  }
  return n;
}

void add_import(CLI::App& app) {
  auto o = std::make_shared<import_options>();
  auto* cmd = app.add_subcommand(
      "import",
      "Replace the configuration with FILE, or merge FILE's clients and policies into it "
      "(Import-NpsConfiguration); nothing is written unless the result validates");
  add_config_options(cmd, o->cfg);
  cmd->add_option("FILE", o->file, "A file written by npsctl export (or any configuration)")
      ->required();
  auto* merge = cmd->add_flag(
      "--merge", o->merge,
      "Add FILE's clients, connection request and network policies, replacing same-named ones");
  auto* replace = cmd->add_flag("--replace", o->replace,
                                "FILE becomes the configuration (the old one is kept as .bak)");
  merge->excludes(replace);
  cmd->callback([o] {
    if (!o->merge && !o->replace)
      throw command_error(exit_bad_input, "npsctl import needs --merge or --replace");
    const auto text = read_text_file(o->file, max_config_bytes);
    ordered_json imported;
    try {
      imported = ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw command_error(exit_bad_input,
                          fmt::format("{}: not valid JSON (at byte {})", o->file, e.byte));
    }
    if (!imported.is_object())
      throw command_error(exit_bad_input, o->file + ": expected a JSON object");

    config_file f;
    ordered_json summary = ordered_json::object();
    if (o->replace) {
      f = new_config(o->cfg);
      f.doc = std::move(imported);
      save_config(f);
      summary["replaced"] = f.path.string();
    } else {
      f = open_config(o->cfg);
      bool any = false;
      for (const char* key : merged_keys) {
        const auto it = imported.find(key);
        if (it == imported.end()) continue;
        if (!it->is_array())
          throw command_error(exit_bad_input,
                              fmt::format("{}: /{}: expected an array", o->file, key));
        any = true;
        merge_count n;
        if (std::string_view(key) == "clients") {
          if (!f.doc.contains("clients")) f.doc["clients"] = ordered_json::array();
          n = merge_named(f.doc, key, *it, o->file);
        } else {
          n = merge_policies(f.doc,
                             std::string_view(key) == "network_policies"
                                 ? network_policies
                                 : connection_request_policies,
                             *it, o->file);
        }
        summary[key] = {{"added", n.added}, {"replaced", n.replaced}};
      }
      if (!any)
        throw command_error(exit_bad_input,
                            o->file + ": nothing to merge (no clients, "
                                      "connection_request_policies or network_policies)");
      save_config(f);
    }
    // npsd also needs the user file the configuration names.
    const auto checked = check_config(f.doc, f.path, f.dictionary_dir);
    if (checked && (*checked)->directory.backend == ldap::directory_backend::local) {
      const auto users = ldap::local_directory::load_user_file((*checked)->directory.users_file);
      if (!users) fmt::print(stderr, "warning: {}\n", users.error());
    }
    if (o->cfg.json) {
      fmt::print("{}\n", summary.dump(2));
      return;
    }
    if (o->replace) {
      fmt::print("replaced {} with {} (the previous version is {}.bak)\n", f.path.string(),
                 o->file, f.path.string());
    } else {
      for (const auto& [key, n] : summary.items())
        fmt::print("{}: {} added, {} replaced\n", key, n["added"].get<std::size_t>(),
                   n["replaced"].get<std::size_t>());
      fmt::print("merged {} into {} (the previous version is {}.bak)\n", o->file,
                 f.path.string(), f.path.string());
    }
    fmt::print("npsd applies it when it reloads its configuration (npsctl reload)\n");
  });
}

}  // namespace

void add_backup_commands(CLI::App& app) {
  add_backup_export(app);
  add_import(app);
}

}  // namespace npsd::npsctl
