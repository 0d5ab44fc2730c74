#include "server/file_permissions.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "server/log.h"

namespace npsd::server {

namespace {

std::string mode_text(unsigned mode) { return fmt::format("{:04o}", mode); }

std::string describe(const policy::config& c, const file_permission_finding& f) {
  const auto what = f.writable ? "writable" : "readable";
  if (f.pointer.empty())
    return fmt::format("{}: the configuration file is {} by other users (mode {})",
                       c.source.string(), what, mode_text(f.mode));
  return fmt::format("{}: {}: {} is {} by other users (mode {})", c.source.string(), f.pointer,
                     f.file.string(), what, mode_text(f.mode));
}

}  // namespace

file_permission_report check_file_permissions(const policy::config& c) {
  file_permission_report out;
  for (const auto& sf : policy::secret_files(c)) {
    struct stat st {};
    if (::stat(sf.path.c_str(), &st) != 0) continue;  // the loader reports what it cannot read
    file_permission_finding f{sf.path, sf.pointer, static_cast<unsigned>(st.st_mode & 07777),
                              (st.st_mode & S_IWOTH) != 0};
    if (!f.writable && (st.st_mode & S_IROTH) == 0) continue;
    if (f.writable) {
      if (out.refusal.empty())
        out.refusal = describe(c, f) +
                      ": refused, anyone could replace it (chmod o-rwx it; this is refused "
                      "whatever server.file_permissions says)";
    } else if (c.server.file_permissions == policy::file_permission_mode::refuse) {
      if (out.refusal.empty())
        out.refusal = describe(c, f) +
                      ": refused because server.file_permissions is \"refuse\" (chmod o-rwx it)";
    } else {
      out.warnings.push_back(std::move(f));
    }
  }
  return out;
}

void log_file_permission_warnings(const file_permission_report& r) {
  for (const auto& f : r.warnings) {
    const auto mode = mode_text(f.mode);
    const auto file = f.file.string();
    log_event(spdlog::level::warn,
              "a file holding secrets is readable by other users (chmod o-rwx it; "
              "server.file_permissions \"refuse\" makes this an error)",
              {{"file", std::string_view(file)},
               {"field", std::string_view(f.pointer.empty() ? "(the configuration file)"
                                                            : f.pointer)},
               {"mode", std::string_view(mode)}});
  }
}

}  // namespace npsd::server
