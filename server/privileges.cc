#include "server/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace npsd::server {

void disable_core_dumps() {
  const rlimit none{0, 0};
  (void)::setrlimit(RLIMIT_CORE, &none);
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

expected<std::optional<run_as_account>, std::string> resolve_run_as(const policy::config& c) {
  const auto& s = c.server;
  if (s.user.empty()) return std::optional<run_as_account>{};
  const auto where = [&](std::string_view field) {
    return fmt::format("{}: /server/{}: ", c.source.string(), field);
  };
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int e = ::getpwnam_r(s.user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr)
    return unexpected(where("user") + (e != 0 ? fmt::format("cannot look up user \"{}\": {}",
                                                            s.user, std::strerror(e))
                                              : fmt::format("no user \"{}\"", s.user)));
  run_as_account a{s.user, pw.pw_uid, pw.pw_gid};
  if (a.uid == 0)
    return unexpected(where("user") +
                      fmt::format("user \"{}\" has uid 0: npsd switches to an unprivileged user",
                                  s.user));
  if (!s.group.empty()) {
    std::vector<char> gbuf(16384);
    group gr{};
    group* g = nullptr;
    const int ge = ::getgrnam_r(s.group.c_str(), &gr, gbuf.data(), gbuf.size(), &g);
    if (g == nullptr)
      return unexpected(where("group") + (ge != 0 ? fmt::format("cannot look up group \"{}\": {}",
                                                                s.group, std::strerror(ge))
                                                  : fmt::format("no group \"{}\"", s.group)));
    a.gid = gr.gr_gid;
  }
  if (a.gid == 0)
    return unexpected(where(s.group.empty() ? "user" : "group") +
                      "the group would be gid 0 (root): name an unprivileged \"group\"");
  return std::optional<run_as_account>{std::move(a)};
}

std::string drop_privileges(const run_as_account& a) {
  const auto failed = [&](std::string_view what) {
    return fmt::format("cannot switch to user \"{}\" (uid {}, gid {}): {}: {}", a.user, a.uid,
                       a.gid, what, std::strerror(errno));
  };
  // glibc applies each of these to every thread of the process.
  if (::initgroups(a.user.c_str(), a.gid) != 0) return failed("initgroups");
  if (::setresgid(a.gid, a.gid, a.gid) != 0) return failed("setresgid");
  if (::setresuid(a.uid, a.uid, a.uid) != 0) return failed("setresuid");
  uid_t ru = 0, eu = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0 || ru != a.uid ||
      eu != a.uid || su != a.uid || rg != a.gid || eg != a.gid || sg != a.gid)
    return fmt::format("switching to user \"{}\" left other ids in place", a.user);
  if (::setuid(0) == 0 || ::seteuid(0) == 0)
    return fmt::format("switched to user \"{}\" but root could be regained", a.user);
  errno = 0;
  disable_core_dumps();  // a change of credentials makes the process dumpable again
  return {};
}

}  // namespace npsd::server
