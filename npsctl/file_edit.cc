#include "npsctl/file_edit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "npsctl/command.h"

namespace npsd::npsctl {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void io_failure(const std::string& what, int err) {
  throw command_error(exit_failure, what + ": " + std::generic_category().message(err));
}

// Writes `content` to a temporary file next to `target` (mode and owner from `like` if given,
// else `mode`), syncs it and renames it over `target`; then syncs the directory so that the
// rename itself is durable.
void write_and_rename(const fs::path& target, std::string_view content, const struct stat* like,
                      std::optional<mode_t> mode) {
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string name = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(name.data());  // created with mode 0600
  if (fd < 0) io_failure("cannot create a temporary file in " + dir.string(), errno);
  const std::string tmp = name;
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    io_failure(what, err);
  };
  if (like) {
    // Keep the owner when we may (root editing the daemon's file); otherwise it is ours.
    if (::fchown(fd, like->st_uid, like->st_gid) != 0 && errno != EPERM)
      fail("cannot set the owner of " + tmp);
  }
  const mode_t wanted = mode ? *mode : like ? (like->st_mode & 07777) : 0600;
  if (::fchmod(fd, wanted) != 0) fail("cannot set the mode of " + tmp);
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

std::string read_text_file(const fs::path& path, std::size_t max_bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) io_failure(path.string() + ": cannot open", errno);
  std::string text;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > max_bytes)
      throw command_error(exit_bad_input, path.string() + ": file too large");
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) io_failure(path.string() + ": read error", errno);
  return text;
}

fs::path edit_target(const fs::path& path) {
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    auto resolved = fs::weakly_canonical(path, ec);
    if (!ec) return resolved;
  }
  return path;
}

void replace_file(const fs::path& target, std::string_view content,
                  const replace_options& options) {
  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) io_failure("cannot read " + target.string(), errno);
  if (exists && options.keep_backup) {
    const auto previous = read_text_file(target, static_cast<std::size_t>(st.st_size) + 65536);
    write_and_rename(fs::path(target.string() + ".bak"), previous, &st, std::nullopt);
  }
  write_and_rename(target, content, exists ? &st : nullptr, options.mode);
}

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

std::vector<std::string> entry_names(const nlohmann::ordered_json& doc, const char* array) {
  std::vector<std::string> out;
  const auto it = doc.find(array);
  if (it == doc.end() || !it->is_array()) return out;
  for (const auto& e : *it)
    if (e.is_object() && e.contains("name") && e["name"].is_string())
      out.push_back(e["name"].get<std::string>());
  return out;
}

}  // namespace npsd::npsctl
