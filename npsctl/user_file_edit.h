#pragma once
// Safe edits of the local user file: load and validate first (an invalid file is never edited),
// change the JSON document (key order kept), validate the result with the daemon's own parser,
// then write a temporary file in the same directory, fsync it and rename it over the original,
// keeping the original's mode (and owner, when permitted).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ldap/local_directory.h"

namespace npsd::npsctl {

struct user_file {
  std::filesystem::path path;    // as the administrator named it (used in messages)
  std::filesystem::path target;  // where it is written (symbolic links resolved)
  bool exists = false;
  nlohmann::ordered_json doc;
  std::shared_ptr<const ldap::local_user_db> db;  // the validated content of `doc`
};

enum class open_mode {
  read,            // a missing or invalid file is an error
  edit,            // the same; the error says the file will not be edited
  edit_or_create,  // a missing file starts as an empty document
};

// Throws command_error: exit 1 when the file cannot be read, exit 2 when it is invalid.
user_file open_user_file(const std::filesystem::path& path, open_mode mode);

// Validates `f.doc` with the daemon's parser (exit 2 if invalid) and replaces the file
// atomically (exit 1 on I/O failure). A new file gets mode 0600.
void save_user_file(user_file& f);

// ASCII case folding, as the user file compares names.
std::string fold_case(std::string_view s);

// Index of the user (or group) named `name` (case-insensitive) in doc["users"] (doc["groups"]).
std::optional<std::size_t> find_entry(const nlohmann::ordered_json& doc, const char* array,
                                      std::string_view name);

}  // namespace npsd::npsctl
