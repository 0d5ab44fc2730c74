// npsctl user ... and npsctl group ...: the local user file.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ldap/local_directory.h"
#include "eap/mschapv2.h"
#include "ldap/password_hash.h"
#include "npsctl/command.h"
#include "npsctl/password_input.h"
#include "npsctl/table.h"
#include "npsctl/user_file_edit.h"

namespace npsd::npsctl {

namespace {

using ordered_json = nlohmann::ordered_json;

struct hash_options {
  std::string scheme = "pbkdf2-sha256";
  std::uint32_t iterations = 100000;
  unsigned scrypt_log_n = 15;
  std::uint32_t scrypt_r = 8;
  std::uint32_t scrypt_p = 1;
  bool mschapv2 = false;  // also keep the NT hash, for PEAP-MSCHAPv2
};

// The NT hash (MD4 of the UTF-16LE password) in hex, as the user file keeps it.
std::string nt_hash_hex(const std::string& password) {
  const auto h = eap::mschapv2::nt_password_hash(password);
  if (!h)
    throw command_error(exit_failure,
                        "cannot compute the NT hash (the password is not UTF-8, or OpenSSL's "
                        "legacy provider is missing)");
  std::string out;
  for (const auto b : *h) out += fmt::format("{:02x}", b);
  return out;
}

void add_hash_options(CLI::App* cmd, hash_options& o) {
  if (cmd->get_name() != "hash-password")
    cmd->add_flag("--mschapv2", o.mschapv2,
                  "Also keep the NT hash, which PEAP-MSCHAPv2 needs (password-equivalent: only "
                  "for accounts that use it)");
  cmd->add_option("--scheme", o.scheme, "Hash scheme")
      ->check(CLI::IsMember({"pbkdf2-sha256", "scrypt"}))
      ->capture_default_str();
  cmd->add_option("--iterations", o.iterations, "pbkdf2-sha256 iterations")
      ->check(CLI::Range(ldap::pbkdf2_min_iterations, ldap::pbkdf2_max_iterations))
      ->capture_default_str();
  cmd->add_option("--scrypt-ln", o.scrypt_log_n, "scrypt log2(N)")
      ->check(CLI::Range(static_cast<unsigned>(ldap::scrypt_min_log_n),
                         static_cast<unsigned>(ldap::scrypt_max_log_n)))
      ->capture_default_str();
  cmd->add_option("--scrypt-r", o.scrypt_r, "scrypt block size r")
      ->check(CLI::Range(1u, ldap::scrypt_max_r))
      ->capture_default_str();
  cmd->add_option("--scrypt-p", o.scrypt_p, "scrypt parallelism p")
      ->check(CLI::Range(1u, ldap::scrypt_max_p))
      ->capture_default_str();
}

std::string make_hash(const secret_string& password, const hash_options& o) {
  ldap::hash_params p;
  p.scheme = o.scheme;
  p.iterations = o.iterations;
  p.scrypt_log_n = static_cast<std::uint8_t>(o.scrypt_log_n);
  p.scrypt_r = o.scrypt_r;
  p.scrypt_p = o.scrypt_p;
  auto h = ldap::hash_password(password.value(), p);
  if (!h) throw command_error(exit_bad_input, "cannot hash the password: " + h.error());
  return std::move(*h);
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// The declared spelling of each group named on the command line; exit 2 if one is unknown.
std::vector<std::string> declared_groups(const user_file& f, const std::vector<std::string>& names,
                                         const char* option) {
  std::vector<std::string> out;
  for (const auto& g : names) {
    const auto* grp = f.db->find_group(g);
    if (!grp)
      throw command_error(exit_bad_input,
                          fmt::format("{} {}: no such group in {} (declare it first with "
                                      "npsctl group add)",
                                      option, in_quotes(g), f.path.string()));
    if (std::find(out.begin(), out.end(), grp->name) == out.end()) out.push_back(grp->name);
  }
  return out;
}

std::size_t require_user(const user_file& f, const std::string& name) {
  const auto idx = find_entry(f.doc, "users", name);
  if (!idx)
    throw command_error(exit_bad_input,
                        fmt::format("no user {} in {}", in_quotes(name), f.path.string()));
  return *idx;
}

// ---- user hash-password ----

void add_hash_password(CLI::App& user) {
  auto o = std::make_shared<hash_options>();
  auto* cmd = user.add_subcommand(
      "hash-password",
      "Hash a password read from stdin (first line; prompts twice on a terminal)");
  add_hash_options(cmd, *o);
  cmd->callback([o] {
    const auto password = read_password(/*confirm=*/true);
    fmt::print("{}\n", make_hash(password, *o));
  });
}

// ---- user add ----

struct add_user_options {
  std::string file, name, upn, dial_in = "policy";
  std::vector<std::string> groups;
  bool disabled = false, password_stdin = false;
  hash_options hash;
};

void add_user_add(CLI::App& user) {
  auto o = std::make_shared<add_user_options>();
  auto* cmd = user.add_subcommand("add", "Add a user (creates the file if it does not exist)");
  cmd->add_option("--file", o->file, "User file")->required();
  cmd->add_option("--name", o->name, "Account name")->required();
  cmd->add_option("--upn", o->upn, "User principal name (user@suffix)");
  cmd->add_option("--group", o->groups, "Group (repeatable); must be declared")
      ->allow_extra_args(false);
  cmd->add_flag("--disabled", o->disabled, "Create the account disabled");
  cmd->add_option("--dial-in", o->dial_in, "Dial-in permission")
      ->check(CLI::IsMember({"allow", "deny", "policy"}))
      ->capture_default_str();
  cmd->add_flag("--password-stdin", o->password_stdin,
                "Read a password from stdin (without it the account has no password)");
  add_hash_options(cmd, o->hash);
  cmd->callback([o] {
    auto f = open_user_file(o->file, open_mode::edit_or_create);
    if (f.db->find_user(o->name))
      throw command_error(exit_bad_input, fmt::format("user {} already exists in {}",
                                                      in_quotes(o->name), f.path.string()));
    const auto groups = declared_groups(f, o->groups, "--group");
    ordered_json u = ordered_json::object();
    u["name"] = o->name;
    if (!o->upn.empty()) u["upn"] = o->upn;
    if (o->password_stdin) {
      const auto password = read_password(true);
      u["password_hash"] = make_hash(password, o->hash);
      if (o->hash.mschapv2) u["nt_hash"] = nt_hash_hex(password.value());
    } else if (o->hash.mschapv2) {
      throw command_error(exit_bad_input, "--mschapv2 needs --password-stdin");
    }
    u["groups"] = groups;
    u["enabled"] = !o->disabled;
    u["locked_out"] = false;
    u["dial_in"] = o->dial_in;
    f.doc["users"].push_back(std::move(u));
    save_user_file(f);
    fmt::print("added user {} to {}\n", in_quotes(o->name), f.path.string());
  });
}

// ---- user set-password ----

struct file_name_options {
  std::string file, name;
  hash_options hash;
};

void add_user_set_password(CLI::App& user) {
  auto o = std::make_shared<file_name_options>();
  auto* cmd = user.add_subcommand("set-password",
                                  "Set a user's password, read from stdin (first line; prompts "
                                  "twice on a terminal)");
  cmd->add_option("--file", o->file, "User file")->required();
  cmd->add_option("--name", o->name, "Account name")->required();
  add_hash_options(cmd, o->hash);
  cmd->callback([o] {
    auto f = open_user_file(o->file, open_mode::edit);
    const auto idx = require_user(f, o->name);
    const auto password = read_password(true);
    auto& u = f.doc["users"][idx];
    u["password_hash"] = make_hash(password, o->hash);
    // An account that had an NT hash keeps one, for the new password: never the old one.
    if (o->hash.mschapv2 || u.contains("nt_hash")) u["nt_hash"] = nt_hash_hex(password.value());
    save_user_file(f);
    fmt::print("set the password of {} in {}\n",
               in_quotes(f.doc["users"][idx]["name"].get<std::string>()), f.path.string());
  });
}

// ---- user remove ----

void add_user_remove(CLI::App& user) {
  auto o = std::make_shared<file_name_options>();
  auto* cmd = user.add_subcommand("remove", "Remove a user");
  cmd->add_option("--file", o->file, "User file")->required();
  cmd->add_option("--name", o->name, "Account name")->required();
  cmd->callback([o] {
    auto f = open_user_file(o->file, open_mode::edit);
    const auto idx = require_user(f, o->name);
    auto& users = f.doc["users"];
    const auto removed = users[idx]["name"].get<std::string>();
    users.erase(users.begin() + static_cast<std::ptrdiff_t>(idx));
    save_user_file(f);
    fmt::print("removed user {} from {}\n", in_quotes(removed), f.path.string());
  });
}

// ---- user list ----

struct list_options {
  std::string file;
  bool json = false;
};

void add_user_list(CLI::App& user) {
  auto o = std::make_shared<list_options>();
  auto* cmd = user.add_subcommand("list", "List users (never shows password hashes)");
  cmd->add_option("--file", o->file, "User file")->required();
  cmd->add_flag("--json", o->json, "JSON output");
  cmd->callback([o] {
    const auto f = open_user_file(o->file, open_mode::read);
    if (o->json) {
      ordered_json out = ordered_json::array();
      for (const auto& u : f.db->users()) {
        std::vector<std::string> all;
        for (const auto& g : u.acct.groups) all.push_back(g.name);
        ordered_json j;
        j["name"] = u.acct.name;
        j["upn"] = u.acct.upn;
        j["enabled"] = u.acct.enabled;
        j["locked_out"] = u.acct.locked_out;
        j["dial_in"] = std::string(ldap::dial_in_name(u.acct.dial_in_permission));
        j["has_password"] = u.password_hash.has_value();
        j["groups"] = u.direct_groups;
        j["all_groups"] = all;
        out.push_back(std::move(j));
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    std::vector<table_row> rows;
    rows.push_back({"NAME", "UPN", "ENABLED", "LOCKED", "DIAL-IN", "PASSWORD", "GROUPS"});
    for (const auto& u : f.db->users()) {
      std::vector<std::string> groups;
      for (const auto& g : u.acct.groups) {
        const bool direct = std::find(u.direct_groups.begin(), u.direct_groups.end(), g.name) !=
                            u.direct_groups.end();
        groups.push_back(direct ? g.name : "(" + g.name + ")");
      }
      rows.push_back({u.acct.name, u.acct.upn.empty() ? "-" : u.acct.upn,
                      u.acct.enabled ? "yes" : "no", u.acct.locked_out ? "yes" : "no",
                      std::string(ldap::dial_in_name(u.acct.dial_in_permission)),
                      u.password_hash ? "yes" : "no", groups.empty() ? "-" : join(groups)});
    }
    print_table(rows);
    if (f.db->users().size() > 0)
      fmt::print("({} user{}; groups in parentheses are inherited)\n", f.db->users().size(),
                 f.db->users().size() == 1 ? "" : "s");
  });
}

// ---- group add ----

struct group_add_options {
  std::string file, name;
  std::vector<std::string> member_of;
};

void add_group_add(CLI::App& group) {
  auto o = std::make_shared<group_add_options>();
  auto* cmd = group.add_subcommand("add", "Declare a group (creates the file if it does not exist)");
  cmd->add_option("--file", o->file, "User file")->required();
  cmd->add_option("--name", o->name, "Group name")->required();
  cmd->add_option("--member-of", o->member_of, "Parent group (repeatable); must be declared")
      ->allow_extra_args(false);
  cmd->callback([o] {
    auto f = open_user_file(o->file, open_mode::edit_or_create);
    if (f.db->find_group(o->name))
      throw command_error(exit_bad_input, fmt::format("group {} already exists in {}",
                                                      in_quotes(o->name), f.path.string()));
    ordered_json g = ordered_json::object();
    g["name"] = o->name;
    const auto parents = declared_groups(f, o->member_of, "--member-of");
    if (!parents.empty()) g["member_of"] = parents;
    f.doc["groups"].push_back(std::move(g));
    save_user_file(f);
    fmt::print("added group {} to {}\n", in_quotes(o->name), f.path.string());
  });
}

}  // namespace

void add_user_commands(CLI::App& app) {
  auto* user = app.add_subcommand("user", "Manage users in the local user file");
  user->require_subcommand(1);
  add_hash_password(*user);
  add_user_add(*user);
  add_user_set_password(*user);
  add_user_remove(*user);
  add_user_list(*user);
}

void add_group_commands(CLI::App& app) {
  auto* group = app.add_subcommand("group", "Manage groups in the local user file");
  group->require_subcommand(1);
  add_group_add(*group);
}

}  // namespace npsd::npsctl
