#pragma once
// Safe edits of the local user file: load and validate first (an invalid file is never edited),
// change the JSON document (key order kept), validate the result with the daemon's own parser,
// then replace the file atomically (file_edit.h), keeping the original's mode (and owner, when
// permitted).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ldap/local_directory.h"
#include "npsctl/file_edit.h"

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

}  // namespace npsd::npsctl
