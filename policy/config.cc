#include "policy/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "policy/json_reader.h"
#include "policy/ldap_config.h"
#include "policy/policy_config.h"

namespace npsd::policy {

namespace {


listener_config read_listener(const json_reader& r) {
  r.expect_object({"type", "address", "port"});
  listener_config l;
  l.kind = r.at("type").one_of({"auth", "acct"}) == "auth" ? listener_kind::auth
                                                           : listener_kind::acct;
  const auto addr = r.at("address");
  l.address = addr.string();
  const auto parsed = ip_address::parse(l.address);
  if (!parsed) addr.fail("expected a literal IPv4 or IPv6 address");
  l.address = parsed->to_string();
  l.port = static_cast<std::uint16_t>(
      r.integer_or("port", l.kind == listener_kind::auth ? 1812 : 1813, 0, 65535));
  return l;
}

std::string read_secret_file(const json_reader& r, const std::filesystem::path& base) {
  const auto path = resolve_path(base, r.non_empty_string());
  std::ifstream in(path, std::ios::binary);
  if (!in) r.fail(fmt::format("cannot read secret file {}", path.string()));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) r.fail(fmt::format("secret file {} is empty", path.string()));
  return s;
}

client_config read_client(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"name", "address", "secret", "secret_file", "require_message_authenticator",
                   "limit_proxy_state", "vendor"});
  client_config c;
  c.name = r.at("name").non_empty_string();
  const auto addr = r.at("address");
  std::string why;
  const auto prefix = ip_prefix::parse(addr.string(), &why);
  if (!prefix) addr.fail(why);
  c.address = *prefix;
  if (r.has("secret") == r.has("secret_file"))
    r.fail("expected exactly one of \"secret\" and \"secret_file\"");
  if (const auto s = r.get("secret")) {
    if (!s->json().is_string()) s->fail("expected a string");
    c.secret = s->json().get<std::string>();
    if (c.secret.empty()) s->fail("expected a non-empty shared secret");
  } else {
    c.secret_file = resolve_path(base, r.at("secret_file").non_empty_string());
    c.secret = read_secret_file(r.at("secret_file"), base);
  }
  c.require_message_authenticator = r.boolean_or("require_message_authenticator", true);
  c.limit_proxy_state = r.boolean_or("limit_proxy_state", true);
  c.vendor = r.string_or("vendor", c.vendor);
  return c;
}

// A user or group name as getpwnam/getgrnam take it (POSIX portable names, and a trailing $).
std::string account_name(const json_reader& r, std::string_view what) {
  auto name = r.non_empty_string();
  bool ok = name.size() <= 32 && name.front() != '-';
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    const auto ch = static_cast<unsigned char>(name[i]);
    ok = std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.' ||
         (ch == '$' && i + 1 == name.size());
  }
  if (!ok) r.fail(fmt::format("expected a {} name (letters, digits, '.', '_', '-')", what));
  if (what == "user" && name == "root")
    r.fail("npsd switches to an unprivileged user: \"root\" is not one (leave \"user\" out)");
  return name;
}

server_config read_server(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"threads", "compute_threads", "max_pending_requests", "max_queue_wait_ms",
                   "listen", "duplicate_cache", "shutdown_grace_ms",
                   "unknown_client_log_interval_seconds",
                   "control_socket", "file_permissions", "user", "group"});
  server_config s;
  s.threads = static_cast<unsigned>(r.integer_or("threads", 0, 0, 256));
  s.compute_threads = static_cast<unsigned>(r.integer_or("compute_threads", 0, 0, 256));
  s.max_pending_requests =
      static_cast<std::size_t>(r.integer_or("max_pending_requests", 4096, 1, 1'000'000));
  s.max_queue_wait =
      std::chrono::milliseconds(r.integer_or("max_queue_wait_ms", 1000, 10, 60'000));
  const auto listen = r.at("listen");
  if (listen.array_size() == 0) listen.fail("expected at least one listener");
  std::set<std::pair<std::string, std::uint16_t>> seen;
  listen.for_each([&](const json_reader& l) {
    auto lc = read_listener(l);
    if (lc.port != 0 && !seen.emplace(lc.address, lc.port).second)
      l.fail(fmt::format("{} port {} is already used by another listener", lc.address, lc.port));
    s.listeners.push_back(std::move(lc));
  });
  if (const auto d = r.get("duplicate_cache")) {
    d->expect_object({"ttl_seconds", "max_entries"});
    s.duplicate_ttl = std::chrono::seconds(d->integer_or("ttl_seconds", 30, 1, 3600));
    s.duplicate_max_entries =
        static_cast<std::size_t>(d->integer_or("max_entries", 65536, 16, 10'000'000));
  }
  s.shutdown_grace = std::chrono::milliseconds(r.integer_or("shutdown_grace_ms", 5000, 0, 600000));
  s.unknown_client_log_interval =
      std::chrono::seconds(r.integer_or("unknown_client_log_interval_seconds", 60, 0, 86400));
  if (const auto cs = r.get("control_socket")) {
    s.control_socket = resolve_path(base, cs->non_empty_string());
    if (s.control_socket.string().size() >= 108)  // sockaddr_un.sun_path
      cs->fail("the socket path is too long (at most 107 bytes)");
  }
  if (const auto fp = r.get("file_permissions"))
    s.file_permissions = fp->one_of({"warn", "refuse"}) == "refuse" ? file_permission_mode::refuse
                                                                    : file_permission_mode::warn;
  if (const auto u = r.get("user")) s.user = account_name(*u, "user");
  if (const auto g = r.get("group")) {
    if (s.user.empty()) g->fail("\"group\" needs \"user\" (the account npsd switches to)");
    s.group = account_name(*g, "group");
  }
  return s;
}

log_config read_log(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"format", "level", "file"});
  log_config l;
  l.format = r.has("format") && r.at("format").one_of({"text", "json"}) == "json"
                 ? log_format::json
                 : log_format::text;
  if (r.has("level"))
    l.level = r.at("level").one_of({"trace", "debug", "info", "warn", "error", "critical", "off"});
  if (r.has("file")) l.file = resolve_path(base, r.at("file").non_empty_string());
  return l;
}

metrics_config read_metrics(const json_reader& r) {
  r.expect_object({"address", "port", "max_connections", "max_series"});
  metrics_config m;
  m.enabled = true;
  if (const auto a = r.get("address")) {
    const auto parsed = ip_address::parse(a->string());
    if (!parsed) a->fail("expected a literal IPv4 or IPv6 address");
    m.address = parsed->to_string();
  }
  m.port = static_cast<std::uint16_t>(r.integer_or("port", 9812, 0, 65535));
  m.max_connections = static_cast<std::size_t>(r.integer_or("max_connections", 16, 1, 1024));
  m.max_series = static_cast<std::size_t>(r.integer_or("max_series", 10'000, 100, 1'000'000));
  return m;
}

accounting::store_config read_accounting(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"database", "synchronous", "queue_max_records", "batch_max_records",
                   "batch_max_delay_ms", "busy_timeout_ms", "log_authentication",
                   "discard_requests_when_logging_fails"});
  accounting::store_config a;
  a.enabled = true;
  a.database = resolve_path(base, r.at("database").non_empty_string());
  if (r.has("synchronous"))
    a.synchronous = r.at("synchronous").one_of({"full", "normal"}) == "normal"
                        ? accounting::sync_mode::normal
                        : accounting::sync_mode::full;
  a.queue_max_records =
      static_cast<std::size_t>(r.integer_or("queue_max_records", 65536, 16, 10'000'000));
  a.batch_max_records =
      static_cast<std::size_t>(r.integer_or("batch_max_records", 1024, 1, 100'000));
  a.batch_max_delay = std::chrono::milliseconds(r.integer_or("batch_max_delay_ms", 0, 0, 1000));
  a.busy_timeout = std::chrono::milliseconds(r.integer_or("busy_timeout_ms", 100, 0, 60000));
  a.log_authentication = r.boolean_or("log_authentication", true);
  a.discard_requests_when_logging_fails =
      r.boolean_or("discard_requests_when_logging_fails", false);
  return a;
}

directory_config read_directory(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"backend", "users_file", "ldap", "password_cache"});
  directory_config d;
  const auto backend = r.at("backend");
  if (backend.one_of({"local", "ldap"}) == "ldap") {
    d.backend = ldap::directory_backend::ldap;
    if (r.has("users_file"))
      r.at("users_file").fail("the ldap back end reads no user file (remove \"users_file\")");
    d.ldap = read_ldap_config(r.at("ldap"), base);
  } else {
    d.backend = ldap::directory_backend::local;
    if (r.has("ldap"))
      r.at("ldap").fail("\"ldap\" settings need \"backend\": \"ldap\"");
    d.users_file = resolve_path(base, r.at("users_file").non_empty_string());
  }
  if (const auto c = r.get("password_cache")) {
    c->expect_object({"ttl_seconds", "max_entries"});
    d.password_cache_ttl = std::chrono::seconds(c->integer_or("ttl_seconds", 300, 0, 86400));
    d.password_cache_entries =
        static_cast<std::size_t>(c->integer_or("max_entries", 10000, 0, 10'000'000));
  }
  return d;
}

// A file the configuration names, resolved and checked to be readable.
std::filesystem::path readable_file(const json_reader& r, const std::filesystem::path& base) {
  auto path = resolve_path(base, r.non_empty_string());
  std::ifstream in(path, std::ios::binary);
  if (!in) r.fail(fmt::format("cannot read {}", path.string()));
  return path;
}

int read_tls_version(const json_reader& r) {
  return r.one_of({"1.2", "1.3"}) == "1.2" ? 0x0303 : 0x0304;
}

eap::revocation_mode read_revocation_mode(const json_reader& r) {
  const auto m = r.one_of({"off", "best_effort", "require"});
  return m == "off"           ? eap::revocation_mode::off
         : m == "best_effort" ? eap::revocation_mode::best_effort
                              : eap::revocation_mode::require;
}

eap::revocation_config read_revocation(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"crl_files", "default_mode", "cas", "check_interval_seconds"});
  eap::revocation_config c;
  c.enabled = true;
  if (const auto files = r.get("crl_files"))
    files->for_each([&](const json_reader& f) { c.crl_files.push_back(readable_file(f, base)); });
  if (const auto m = r.get("default_mode")) c.default_mode = read_revocation_mode(*m);
  if (const auto cas = r.get("cas"))
    cas->for_each([&](const json_reader& ca) {
      ca.expect_object({"certificate", "mode"});
      c.cas.push_back({readable_file(ca.at("certificate"), base), read_revocation_mode(ca.at("mode"))});
    });
  c.check_interval = std::chrono::seconds(r.integer_or("check_interval_seconds", 60, 1, 86'400));
  const bool needs_crls = c.default_mode != eap::revocation_mode::off ||
                          std::any_of(c.cas.begin(), c.cas.end(), [](const auto& ca) {
                            return ca.mode != eap::revocation_mode::off;
                          });
  if (needs_crls && c.crl_files.empty())
    r.fail("revocation is checked but \"crl_files\" names no CRL (set the modes to \"off\" to "
           "check nothing)");
  return c;
}

eap::eap_config read_eap(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"certificate", "private_key", "ca_file", "ca_path", "revocation", "tls_min_version",
                   "tls_max_version", "cipher_list", "ciphersuites", "groups", "fragment_size",
                   "max_message_size", "conversation_timeout_seconds", "max_conversations",
                   "max_conversations_per_station", "max_rounds", "methods", "peap_inner_methods",
                   "certificate_identity",
                   "resumption_lifetime_seconds", "session_cache_size",
                   "require_identity_match"});
  eap::eap_config e;
  e.enabled = true;
  e.certificate = readable_file(r.at("certificate"), base);
  e.private_key = readable_file(r.at("private_key"), base);
  if (!r.has("ca_file") && !r.has("ca_path"))
    r.fail("missing required key \"ca_file\" (the CAs that issue client certificates; or "
           "\"ca_path\", a hashed directory of them)");
  if (const auto f = r.get("ca_file")) e.ca_file = readable_file(*f, base);
  if (const auto d = r.get("ca_path")) {
    e.ca_path = resolve_path(base, d->non_empty_string());
    if (!std::filesystem::is_directory(e.ca_path))
      d->fail(fmt::format("{} is not a directory", e.ca_path.string()));
  }
  if (const auto rv = r.get("revocation")) e.revocation = read_revocation(*rv, base);
  if (const auto v = r.get("tls_min_version")) e.tls_min_version = read_tls_version(*v);
  if (const auto v = r.get("tls_max_version")) e.tls_max_version = read_tls_version(*v);
  if (e.tls_max_version < e.tls_min_version)
    r.at("tls_max_version").fail("is lower than tls_min_version");
  if (const auto v = r.get("cipher_list")) e.cipher_list = v->non_empty_string();
  if (const auto v = r.get("ciphersuites")) e.ciphersuites = v->non_empty_string();
  if (const auto v = r.get("groups")) e.groups = v->non_empty_string();
  e.resumption_lifetime =
      std::chrono::seconds(r.integer_or("resumption_lifetime_seconds", 3600, 0, 7 * 86'400));
  e.session_cache_size =
      static_cast<std::size_t>(r.integer_or("session_cache_size", 20000, 1, 1'000'000));
  e.fragment_size = static_cast<std::size_t>(r.integer_or("fragment_size", 1020, 64, 4000));
  e.max_message_size =
      static_cast<std::size_t>(r.integer_or("max_message_size", 65536, 4096, 1 << 20));
  e.conversation_timeout =
      std::chrono::seconds(r.integer_or("conversation_timeout_seconds", 30, 1, 600));
  e.max_conversations =
      static_cast<std::size_t>(r.integer_or("max_conversations", 4096, 1, 1'000'000));
  e.max_conversations_per_station =
      static_cast<std::size_t>(r.integer_or("max_conversations_per_station", 16, 1, 1'000'000));
  e.max_rounds = static_cast<std::size_t>(r.integer_or("max_rounds", 64, 8, 1000));
  if (const auto ids = r.get("certificate_identity")) {
    if (ids->array_size() == 0) ids->fail("expected at least one of \"upn\", \"email\", \"dns\", \"cn\"");
    e.identity_sources.clear();
    ids->for_each([&](const json_reader& i) {
      const auto s = i.one_of({"upn", "email", "dns", "cn"});
      const auto src = s == "upn"     ? eap::cert_identity_source::upn
                       : s == "email" ? eap::cert_identity_source::email
                       : s == "dns"   ? eap::cert_identity_source::dns
                                      : eap::cert_identity_source::cn;
      for (const auto seen : e.identity_sources)
        if (seen == src) i.fail(fmt::format("\"{}\" is listed twice", s));
      e.identity_sources.push_back(src);
    });
  }
  if (const auto ms = r.get("methods")) {
    if (ms->array_size() == 0) ms->fail("expected at least one of \"EAP-TLS\", \"PEAP\"");
    e.methods.clear();
    ms->for_each([&](const json_reader& m) {
      const std::uint8_t t = m.one_of({"EAP-TLS", "PEAP"}) == "PEAP" ? 25 : 13;
      if (std::find(e.methods.begin(), e.methods.end(), t) != e.methods.end())
        m.fail("this method is listed twice");
      e.methods.push_back(t);
    });
  }
  if (const auto ms = r.get("peap_inner_methods")) {
    if (ms->array_size() == 0) ms->fail("expected at least one of \"EAP-TLS\", \"EAP-MSCHAPv2\"");
    e.peap_inner_methods.clear();
    ms->for_each([&](const json_reader& m) {
      const std::uint8_t t = m.one_of({"EAP-TLS", "EAP-MSCHAPv2"}) == "EAP-TLS" ? 13 : 26;
      if (std::find(e.peap_inner_methods.begin(), e.peap_inner_methods.end(), t) !=
          e.peap_inner_methods.end())
        m.fail("this method is listed twice");
      e.peap_inner_methods.push_back(t);
    });
  }
  e.require_identity_match = r.boolean_or("require_identity_match", false);
  return e;
}

config read_config(const json_reader& r, const std::filesystem::path& base,
                   const std::filesystem::path& default_dictionary) {
  r.expect_object({"schema_version", "server", "log", "dictionary", "clients", "directory",
                   "eap", "accounting", "time_zone", "connection_request_policies",
                   "network_policies", "metrics"});
  config c;
  const auto v = r.at("schema_version");
  c.schema_version = static_cast<int>(v.integer(1, 1'000'000));
  if (c.schema_version != config_schema_version)
    v.fail(fmt::format("this npsd reads schema version {}, the file has {}",
                       config_schema_version, c.schema_version));
  c.server = read_server(r.at("server"), base);
  if (const auto l = r.get("log")) c.log = read_log(*l, base);
  c.dictionary = r.has("dictionary") ? resolve_path(base, r.at("dictionary").non_empty_string())
                                     : default_dictionary;
  std::set<std::string> names;
  std::set<std::string> prefixes;
  r.at("clients").for_each([&](const json_reader& cr) {
    auto cl = read_client(cr, base);
    std::string folded = cl.name;  // names compare case-insensitively, as NPS's do
    for (auto& ch : folded) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!names.insert(std::move(folded)).second)
      cr.at("name").fail(fmt::format("another client is already named \"{}\"", cl.name));
    if (!prefixes.insert(cl.address.to_string()).second)
      cr.at("address").fail(
          fmt::format("another client already has the address {}", cl.address.to_string()));
    c.clients.push_back(std::move(cl));
  });
  c.directory = read_directory(r.at("directory"), base);
  if (const auto e = r.get("eap")) c.eap = read_eap(*e, base);
  if (const auto a = r.get("accounting")) c.accounting = read_accounting(*a, base);
  if (const auto m = r.get("metrics")) c.metrics = read_metrics(*m);
  auto dict = radius::dictionary::load_directory(c.dictionary);
  if (!dict) {
    const auto where = r.has("dictionary") ? r.at("dictionary") : r;
    where.fail(fmt::format("cannot load the dictionary: {}", dict.error().to_string()));
  }
  c.dict = std::make_shared<const radius::dictionary>(std::move(*dict));
  c.pol = read_policies(r, *c.dict);
  return c;
}

}  // namespace

std::vector<secret_file> secret_files(const config& c) {
  std::vector<secret_file> out;
  out.push_back({c.source, ""});
  for (std::size_t i = 0; i < c.clients.size(); ++i)
    if (!c.clients[i].secret_file.empty())
      out.push_back({c.clients[i].secret_file, fmt::format("/clients/{}/secret_file", i)});
  if (!c.directory.users_file.empty())
    out.push_back({c.directory.users_file, "/directory/users_file"});
  if (!c.directory.ldap.bind_password_file.empty())
    out.push_back({c.directory.ldap.bind_password_file, "/directory/ldap/bind_password_file"});
  if (c.eap.enabled) out.push_back({c.eap.private_key, "/eap/private_key"});
  return out;
}

expected<std::shared_ptr<const config>, std::string> parse_config(
    std::string_view text, const std::string& name, const std::filesystem::path& base,
    const std::filesystem::path& default_dictionary) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the offset; the message text may quote input, so build our own.
    return unexpected(fmt::format("{}: not valid JSON (at byte {})", name, e.byte));
  } catch (const nlohmann::json::exception&) {
    // out_of_range: a number too large for any JSON number type (found by the fuzzer).
    return unexpected(fmt::format("{}: not valid JSON (a number out of range)", name));
  }
  try {
    auto c = std::make_shared<config>(read_config(json_reader(j, ""), base, default_dictionary));
    c->source = name;
    return std::shared_ptr<const config>(std::move(c));
  } catch (const config_error& e) {
    return unexpected(fmt::format("{}: {}", name, e.what()));
  } catch (const nlohmann::json::exception& e) {
    // A value of a kind the reader did not check first; the library's text names kinds and
    // keys, never values.
    return unexpected(fmt::format("{}: unexpected JSON ({})", name, e.what()));
  }
}

expected<std::shared_ptr<const config>, std::string> load_config(
    const std::filesystem::path& file, const std::filesystem::path& default_dictionary) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return unexpected(fmt::format("{}: cannot open the configuration file", file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  const auto base = std::filesystem::absolute(file).parent_path();
  return parse_config(ss.str(), file.string(), base, default_dictionary);
}

}  // namespace npsd::policy
