#pragma once
// Safe edits of the configuration file. The file is read as an ordered JSON document (key order
// kept); it must be valid before an edit; the change is applied to the document; the result is
// parsed by npsd's own loader (policy::parse_config, with the dictionary) and refused with the
// loader's message if invalid; only then is the file replaced atomically, its previous version
// kept as FILE.bak. New files are created 0600 (they hold shared secrets).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "npsctl/config_options.h"
#include "policy/config.h"

namespace npsd::npsctl {

using ordered_json = nlohmann::ordered_json;

inline constexpr std::size_t max_config_bytes = 16u << 20;

struct config_file {
  std::filesystem::path path;            // as the administrator named it (used in messages)
  std::filesystem::path target;          // where it is written (symbolic links resolved)
  std::filesystem::path dictionary_dir;  // the default dictionary for validation
  bool exists = false;
  ordered_json doc;
};

// The file as a JSON document, not validated further: exit 1 when it cannot be read, exit 2
// when it is not a JSON object.
config_file read_config_document(const config_options& o);

// The same, validated with npsd's loader first; an invalid file is refused (exit 2) and not
// edited.
config_file open_config(const config_options& o);

// A file that may not exist yet (init, import --replace): no content is read.
config_file new_config(const config_options& o);

// The document as the file's text (two-space indentation); exit 2 if a string is not UTF-8.
std::string config_text(const ordered_json& doc);

// npsd's loader run on `doc` as if it were the file at `path` (relative paths resolve against
// that file's directory).
expected<std::shared_ptr<const policy::config>, std::string> check_config(
    const ordered_json& doc, const std::filesystem::path& path,
    const std::filesystem::path& dictionary_dir);

// Validates f.doc and replaces the file (exit 2 and nothing written when invalid).
std::shared_ptr<const policy::config> save_config(config_file& f);

// After removing the entry `name` from f: "removed NOUN "NAME" from FILE" and the reload note,
// or with --json {"removed": NAME}.
void report_removed(std::string_view noun, const std::string& name, const config_file& f,
                    bool json);

// "\"name\""
std::string quote(std::string_view s);

// Index of the entry named `name` (case-insensitive) in doc[array]; otherwise exit 2 with
// `no network policy named "X" (there are: A, B)`, `noun` naming the kind of entry.
std::size_t require_entry(const ordered_json& doc, const char* array, std::string_view noun,
                          const std::string& name);

// Exit 2 if another entry of doc[array] (other than `except`) is named `name`.
void require_unique_name(const ordered_json& doc, const char* array, std::string_view noun,
                         const std::string& name, std::size_t except = static_cast<std::size_t>(-1));

}  // namespace npsd::npsctl
