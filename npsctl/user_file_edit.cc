#include "npsctl/user_file_edit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>
#include <vector>

#include "npsctl/command.h"

namespace npsd::npsctl {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

[[noreturn]] void io_failure(const std::string& what, int err) {
  throw command_error(exit_failure, what + ": " + errno_text(err));
}

std::string read_all(const fs::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) io_failure(path.string() + ": cannot open", errno);
  std::string text;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > ldap::max_user_file_bytes)
      throw command_error(exit_bad_input, path.string() + ": file too large");
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) io_failure(path.string() + ": read error", errno);
  return text;
}

// Writes `content` to a temporary file next to `target`, syncs it and renames it over
// `target`; then syncs the directory so the rename itself is durable.
void replace_file(const fs::path& target, std::string_view content, const struct stat* original) {
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());  // created with mode 0600
  if (fd < 0) io_failure("cannot create a temporary file in " + dir.string(), errno);
  const std::string tmp(name.data());
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    io_failure(what, err);
  };
  if (original) {
    // Keep the owner when we may (root editing the daemon's file); otherwise it is ours.
    if (::fchown(fd, original->st_uid, original->st_gid) != 0 && errno != EPERM)
      fail("cannot set the owner of " + tmp);
    if (::fchmod(fd, original->st_mode & 07777) != 0) fail("cannot set the mode of " + tmp);
  }
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot sync " + tmp);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_failure("cannot write " + tmp, err);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_failure("cannot replace " + target.string(), err);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the data is already in place
    ::close(dfd);
  }
}

}  // namespace

std::string fold_case(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::size_t> find_entry(const nlohmann::ordered_json& doc, const char* array,
                                      std::string_view name) {
  const auto it = doc.find(array);
  if (it == doc.end() || !it->is_array()) return std::nullopt;
  const std::string want = fold_case(name);
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& e = (*it)[i];
    if (e.is_object() && e.contains("name") && e["name"].is_string() &&
        fold_case(e["name"].get<std::string>()) == want)
      return i;
  }
  return std::nullopt;
}

user_file open_user_file(const fs::path& path, open_mode mode) {
  user_file f;
  f.path = path;
  std::error_code ec;
  // Edit the file a symbolic link points to, rather than replacing the link.
  f.target = path;
  if (fs::is_symlink(path, ec)) {
    auto resolved = fs::weakly_canonical(path, ec);
    if (!ec) f.target = std::move(resolved);
  }
  ec.clear();
  f.exists = fs::exists(f.target, ec);
  if (ec) io_failure(path.string() + ": cannot open", ec.value());
  std::string text;
  if (f.exists)
    text = read_all(f.target);
  else if (mode == open_mode::edit_or_create)
    text = R"({"schema_version": 1, "groups": [], "users": []})";
  else
    io_failure(path.string() + ": cannot open", ENOENT);
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
  struct stat st {};
  const bool have_stat = f.exists && ::stat(f.target.c_str(), &st) == 0;
  replace_file(f.target, text, have_stat ? &st : nullptr);
  f.db = std::move(*db);
  f.exists = true;
}

}  // namespace npsd::npsctl
