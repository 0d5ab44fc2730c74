#pragma once
// Safe replacement of the files npsctl edits (the configuration, the local user file, exports):
// a temporary file in the same directory, written, synced and renamed over the target, so a
// reader sees the old file or the new one, never a mix. Shared helpers for the JSON documents
// npsctl edits (case-insensitive lookup of named entries).
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace npsd::npsctl {

// The whole file; throws command_error (exit 1 when it cannot be read, exit 2 when larger
// than `max_bytes`).
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes);

// The file to write when editing `path`: a symbolic link is followed, so that the link stays.
std::filesystem::path edit_target(const std::filesystem::path& path);

struct replace_options {
  // Before replacing an existing file, keep its content as "<file>.bak" (itself replaced
  // atomically, same mode and owner), overwriting any older backup.
  bool keep_backup = false;
  // The new file's mode. Unset: an existing file keeps its mode and (when permitted) owner; a
  // new file is created 0600, since the files npsctl writes hold secrets.
  std::optional<mode_t> mode;
};

// Replaces (or creates) `target` with `content` atomically; throws command_error (exit 1).
void replace_file(const std::filesystem::path& target, std::string_view content,
                  const replace_options& options = {});

// ASCII case folding, as npsd compares names.
std::string fold_case(std::string_view s);

// Index of the object named `name` (case-insensitive) in doc[array].
std::optional<std::size_t> find_entry(const nlohmann::ordered_json& doc, const char* array,
                                      std::string_view name);

// The names of the objects in doc[array], in file order.
std::vector<std::string> entry_names(const nlohmann::ordered_json& doc, const char* array);

}  // namespace npsd::npsctl
