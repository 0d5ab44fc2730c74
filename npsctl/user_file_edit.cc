#include "npsctl/user_file_edit.h"

#include <cerrno>
#include <system_error>

#include "npsctl/command.h"

namespace npsd::npsctl {

namespace fs = std::filesystem;

user_file open_user_file(const fs::path& path, open_mode mode) {
  user_file f;
  f.path = path;
  f.target = edit_target(path);
  std::error_code ec;
  f.exists = fs::exists(f.target, ec);
  if (ec)
    throw command_error(exit_failure, path.string() + ": cannot open: " + ec.message());
  std::string text;
  if (f.exists)
    text = read_text_file(f.target, ldap::max_user_file_bytes);
  else if (mode == open_mode::edit_or_create)
    text = R"({"schema_version": 1, "groups": [], "users": []})";
  else
    throw command_error(exit_failure, path.string() + ": cannot open: " +
                                          std::generic_category().message(ENOENT));
  auto db = ldap::local_directory::parse_user_file(text, path.string());
  if (!db)
    throw command_error(exit_bad_input, mode == open_mode::read
                                            ? db.error()
                                            : db.error() + " (refusing to edit an invalid file)");
  f.db = std::move(*db);
  // Valid for the daemon's parser, hence valid JSON without duplicate keys.
  f.doc = nlohmann::ordered_json::parse(text);
  return f;
}

void save_user_file(user_file& f) {
  std::string text;
  try {
    text = f.doc.dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    throw command_error(exit_bad_input, "an argument is not valid UTF-8");
  }
  auto db = ldap::local_directory::parse_user_file(text, f.path.string());
  if (!db)
    throw command_error(exit_bad_input,
                        "the change would make the file invalid, nothing written: " + db.error());
  replace_file(f.target, text);
  f.db = std::move(*db);
  f.exists = true;
}

}  // namespace npsd::npsctl
