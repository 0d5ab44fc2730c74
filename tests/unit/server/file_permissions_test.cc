// server/file_permissions.h: which files holding secrets are warned about or refused.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "server/file_permissions.h"

using namespace npsd;
using namespace npsd::server;

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "npsd-unit-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void touch(const std::filesystem::path& p, mode_t mode) {
  std::ofstream(p) << "x\n";
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

policy::config config_in(const temp_dir& d) {
  policy::config c;
  c.source = d.path / "npsd.json";
  c.directory.users_file = d.path / "users.json";
  c.eap.enabled = true;
  c.eap.private_key = d.path / "server.key";
  policy::client_config cl;
  cl.secret_file = d.path / "nas.secret";
  c.clients.push_back(cl);
  return c;
}

}  // namespace

TEST_CASE("file permissions: private files pass; group access is allowed") {
  temp_dir d;
  touch(d.path / "npsd.json", 0600);
  touch(d.path / "users.json", 0640);
  touch(d.path / "server.key", 0400);
  touch(d.path / "nas.secret", 0660);
  const auto r = check_file_permissions(config_in(d));
  CHECK(r.refusal.empty());
  CHECK(r.warnings.empty());
}

TEST_CASE("file permissions: readable by others warns by default, refuses when configured") {
  temp_dir d;
  touch(d.path / "npsd.json", 0600);
  touch(d.path / "users.json", 0600);
  touch(d.path / "server.key", 0644);
  touch(d.path / "nas.secret", 0604);
  auto c = config_in(d);
  auto r = check_file_permissions(c);
  CHECK(r.refusal.empty());
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0].pointer == "/clients/0/secret_file");
  CHECK(r.warnings[0].mode == 0604);
  CHECK(r.warnings[1].file == d.path / "server.key");
  CHECK(r.warnings[1].pointer == "/eap/private_key");
  CHECK(r.warnings[1].mode == 0644);

  c.server.file_permissions = policy::file_permission_mode::refuse;
  r = check_file_permissions(c);
  CHECK(r.warnings.empty());
  CHECK(r.refusal == (d.path / "npsd.json").string() + ": /clients/0/secret_file: " +
                         (d.path / "nas.secret").string() +
                         " is readable by other users (mode 0604): refused because "
                         "server.file_permissions is \"refuse\" (chmod o-rwx it)");
}

TEST_CASE("file permissions: writable by others is refused even in warn mode") {
  temp_dir d;
  touch(d.path / "npsd.json", 0602);
  touch(d.path / "users.json", 0600);
  touch(d.path / "server.key", 0600);
  touch(d.path / "nas.secret", 0600);
  const auto r = check_file_permissions(config_in(d));
  CHECK(r.refusal.find((d.path / "npsd.json").string() +
                       ": the configuration file is writable by other users (mode 0602)") == 0);
}
