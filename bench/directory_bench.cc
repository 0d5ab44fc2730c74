// directory_bench: what one authentication costs npsd's directory back end.
//
//   directory_bench --config npsd.json --identity alice@corp.example.com:alice-password ...
//                   [--identities FILE] [--seconds 2] [--concurrency N] [--json]
//
// Builds the back end the configuration names through ldap::make_directory (as npsd does) and
// runs find_account + verify_password for every identity (a PAP authentication's directory
// work), in three phases:
//   cold      a new directory object per round: empty account and password caches, and the
//             connections (TCP, TLS, service-account bind) opened afresh;
//   uncached  one directory with both caches turned off: every authentication asks LDAP, over
//             connections already open (the steady state of cache misses);
//   warm      one directory, primed once: answers from the caches (the configuration's TTLs).
// For each: authentications per second and LDAP operations (searches + binds) per
// authentication, from the back end's counters, also without the service-account binds made
// when connections open ("per auth, connections open"). Then, per identity, one lookup over an
// open connection: its groups and the LDAP operations it took. No timing is asserted here;
// tests/integration/ldap_bench_test.cc checks the operation counts.
//
// Identities: IDENTITY:PASSWORD (split at the first ':'), or a file with one such line each
// ('#' comments). Exit 0; 2 for a bad configuration or no identities.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ldap/directory_factory.h"
#include "ldap/ldap_directory.h"
#include "policy/config.h"

namespace {

using namespace npsd;
using clock_type = std::chrono::steady_clock;

struct identity {
  std::string name;
  std::string password;
};

struct tally {
  std::uint64_t auths = 0, ok = 0, mismatch = 0, not_found = 0, unavailable = 0, other = 0;
  void add(const tally& t) {
    auths += t.auths;
    ok += t.ok;
    mismatch += t.mismatch;
    not_found += t.not_found;
    unavailable += t.unavailable;
    other += t.other;
  }
};

struct counters {
  std::uint64_t searches = 0, binds = 0, connects = 0, password_binds = 0;
  std::uint64_t cache_hits = 0, cache_misses = 0, password_cache_hits = 0;
  void add(const counters& c) {
    searches += c.searches;
    binds += c.binds;
    connects += c.connects;
    password_binds += c.password_binds;
    cache_hits += c.cache_hits;
    cache_misses += c.cache_misses;
    password_cache_hits += c.password_cache_hits;
  }
  counters minus(const counters& c) const {
    return {searches - c.searches,         binds - c.binds,
            connects - c.connects,         password_binds - c.password_binds,
            cache_hits - c.cache_hits,     cache_misses - c.cache_misses,
            password_cache_hits - c.password_cache_hits};
  }
};

counters read_counters(ldap::directory& dir) {
  counters c;
  if (auto* l = dynamic_cast<ldap::ldap_directory*>(&dir)) {
    const auto s = l->stats();
    c.searches = s.searches;
    c.binds = s.binds;
    c.connects = s.connects;
    // every password-cache miss is one bind as the account (the bench sends no empty password)
    c.password_binds = s.password_cache_misses;
    c.cache_hits = s.cache_hits;
    c.cache_misses = s.cache_misses;
    c.password_cache_hits = s.password_cache_hits;
  }
  return c;
}

struct phase_result {
  std::string name;
  std::size_t rounds = 0;  // directory objects built and used
  double seconds = 0;  // authenticating only (not building or destroying directories)
  tally t;
  counters c;
};

// One authentication's directory work, waiting for both answers.
void authenticate(ldap::directory& dir, const identity& id, tally& t) {
  ++t.auths;
  // The promises are shared with the callbacks: a callback may still be returning from
  // set_value on a worker thread when get() has already returned here.
  auto found = std::make_shared<std::promise<ldap::lookup_result>>();
  auto found_f = found->get_future();
  dir.find_account(id.name, [found](ldap::lookup_result r) { found->set_value(std::move(r)); });
  const auto r = found_f.get();
  if (r.status == ldap::lookup_status::unavailable) {
    ++t.unavailable;
    return;
  }
  if (r.status != ldap::lookup_status::found || !r.acct) {
    ++t.not_found;
    return;
  }
  auto checked = std::make_shared<std::promise<ldap::password_status>>();
  auto checked_f = checked->get_future();
  dir.verify_password(*r.acct, id.password,
                      [checked](ldap::password_status s) { checked->set_value(s); });
  switch (checked_f.get()) {
    case ldap::password_status::ok: ++t.ok; break;
    case ldap::password_status::mismatch: ++t.mismatch; break;
    case ldap::password_status::unavailable: ++t.unavailable; break;
    case ldap::password_status::no_password: ++t.other; break;
  }
}

// `lanes` threads authenticating the identities in turn: every identity once (no deadline), or
// round and round until `until`, finishing the round in progress (so that every identity
// counts as often as the others in the per-authentication figures).
tally run_lanes(ldap::directory& dir, const std::vector<identity>& ids, unsigned lanes,
                std::optional<clock_type::time_point> until = std::nullopt) {
  const std::size_t n = ids.size();
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> limit{until ? std::numeric_limits<std::size_t>::max() : n};
  std::vector<tally> per(lanes);
  std::vector<std::thread> threads;
  threads.reserve(lanes);
  for (unsigned l = 0; l < lanes; ++l)
    threads.emplace_back([&, l] {
      for (;;) {
        if (until && clock_type::now() >= *until) {
          // the end of the current round: at or past every index taken so far
          const std::size_t end = (next.load() + n - 1) / n * n;
          std::size_t cur = limit.load();
          while (end < cur && !limit.compare_exchange_weak(cur, end)) {
          }
        }
        const std::size_t i = next.fetch_add(1);
        if (i >= limit.load()) break;
        authenticate(dir, ids[i % n], per[l]);
      }
    });
  for (auto& th : threads) th.join();
  tally t;
  for (const auto& p : per) t.add(p);
  return t;
}

// The back end's warnings and errors (a server down...) to stderr; stdout is the report.
void log_to_stderr(ldap::log_level level, std::string_view message,
                   std::span<const ldap::log_field_text> fields) {
  if (level == ldap::log_level::debug || level == ldap::log_level::info) return;
  std::string line = "directory_bench: ";
  line += message;
  for (const auto& f : fields)
    fmt::format_to(std::back_inserter(line), " {}=\"{}\"", f.key, f.value);
  std::cerr << line << '\n';
}

std::shared_ptr<ldap::directory> build(const policy::directory_config& cfg) {
  ldap::directory_options options;
  options.log = log_to_stderr;
  auto d = ldap::make_directory(cfg, std::move(options));
  if (!d) throw std::runtime_error(d.error());
  return *d;
}

phase_result cold(const policy::directory_config& cfg, const std::vector<identity>& ids,
                  unsigned lanes, double budget) {
  phase_result p;
  p.name = "cold";
  const auto end = clock_type::now() + std::chrono::duration<double>(budget);
  do {
    auto dir = build(cfg);
    const auto t0 = clock_type::now();
    p.t.add(run_lanes(*dir, ids, lanes));
    p.seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
    p.c.add(read_counters(*dir));
    ++p.rounds;
  } while (clock_type::now() < end);
  return p;
}

phase_result steady(std::string name, const policy::directory_config& cfg,
                    const std::vector<identity>& ids, unsigned lanes, double budget) {
  phase_result p;
  p.name = std::move(name);
  auto dir = build(cfg);
  run_lanes(*dir, ids, lanes);  // opens the connections (and fills the caches, if any)
  const auto before = read_counters(*dir);
  const auto t0 = clock_type::now();
  p.t = run_lanes(*dir, ids, lanes, t0 + std::chrono::duration_cast<clock_type::duration>(
                                               std::chrono::duration<double>(budget)));
  p.rounds = 1;
  p.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  p.c = read_counters(*dir).minus(before);
  return p;
}

struct identity_figures {
  std::string name;
  std::string status;
  std::string server;
  std::size_t groups = 0, direct_groups = 0;
  std::uint64_t lookup_operations = 0;  // searches for the account and its groups
};

// One lookup per identity over an open connection (one worker, caches off): what each costs.
std::vector<identity_figures> per_identity(policy::directory_config cfg,
                                           const std::vector<identity>& ids) {
  cfg.ldap.pool_size = 1;
  cfg.ldap.cache.ttl = std::chrono::seconds(0);
  cfg.ldap.cache.negative_ttl = std::chrono::seconds(0);
  auto dir = build(cfg);
  std::vector<identity_figures> out;
  const auto lookup = [&](const std::string& name) {
    auto p = std::make_shared<std::promise<std::pair<ldap::lookup_result, ldap::lookup_info>>>();
    auto f = p->get_future();
    ldap::find_account_detailed(*dir, name, [p](ldap::lookup_result r, ldap::lookup_info i) {
      p->set_value({std::move(r), std::move(i)});
    });
    return f.get();
  };
  lookup("npsd-bench-opens-the-connection");  // no such account: the connection is now open
  for (const auto& id : ids) {
    auto [r, info] = lookup(id.name);
    identity_figures f;
    f.name = id.name;
    f.status = ldap::status_name(r.status);
    f.server = info.server;
    if (r.acct) f.groups = r.acct->groups.size();
    f.direct_groups = info.direct_groups;
    f.lookup_operations = info.operations;
    out.push_back(std::move(f));
  }
  return out;
}

double per(std::uint64_t n, std::uint64_t d) {
  return d == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(d);
}

nlohmann::ordered_json to_json(const phase_result& p) {
  nlohmann::ordered_json j;
  const auto ops = p.c.searches + p.c.binds;
  const auto setup_binds = p.c.binds - std::min(p.c.binds, p.c.password_binds);
  j["rounds"] = p.rounds;
  j["authentications"] = p.t.auths;
  j["accepted"] = p.t.ok;
  j["wrong_password"] = p.t.mismatch;
  j["not_found"] = p.t.not_found;
  j["unavailable"] = p.t.unavailable;
  j["seconds"] = p.seconds;
  j["authentications_per_second"] = p.seconds > 0 ? static_cast<double>(p.t.auths) / p.seconds : 0;
  j["searches"] = p.c.searches;
  j["binds"] = p.c.binds;
  j["password_binds"] = p.c.password_binds;
  j["service_binds"] = setup_binds;
  j["connects"] = p.c.connects;
  j["operations"] = ops;
  j["operations_per_auth"] = per(ops, p.t.auths);
  j["operations_per_auth_connections_open"] = per(ops - setup_binds, p.t.auths);
  j["searches_per_auth"] = per(p.c.searches, p.t.auths);
  j["account_cache_hits"] = p.c.cache_hits;
  j["account_cache_misses"] = p.c.cache_misses;
  j["password_cache_hits"] = p.c.password_cache_hits;
  return j;
}

std::vector<identity> read_identities(const std::vector<std::string>& args,
                                      const std::string& file) {
  std::vector<std::string> lines = args;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l.front() != '#') lines.push_back(l);
  }
  std::vector<identity> out;
  for (const auto& l : lines) {
    const auto colon = l.find(':');
    if (colon == std::string::npos || colon == 0)
      throw std::runtime_error("an identity is IDENTITY:PASSWORD (got one without ':')");
    out.push_back({l.substr(0, colon), l.substr(colon + 1)});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"What one authentication costs npsd's directory back end: authentications per "
               "second and LDAP operations per authentication, cold, uncached and warm"};
  std::string config_file, identities_file, dictionary = NPSD_DEFAULT_DICTIONARY_DIR;
  std::vector<std::string> identity_args;
  double seconds = 2.0;
  unsigned concurrency = 0;
  bool json = false;
  app.add_option("--config", config_file, "npsd's configuration file")->required();
  app.add_option("--identity", identity_args, "IDENTITY:PASSWORD (repeatable)");
  app.add_option("--identities", identities_file, "a file of IDENTITY:PASSWORD lines");
  app.add_option("--seconds", seconds, "time per phase (at least one round each)")
      ->check(CLI::PositiveNumber);
  app.add_option("--concurrency", concurrency,
                 "authentications in flight (default: the LDAP pool size)");
  app.add_option("--dictionary", dictionary, "dictionary directory, when the configuration "
                                             "names none");
  app.add_flag("--json", json, "print JSON");
  CLI11_PARSE(app, argc, argv);

  std::vector<identity> ids;
  try {
    ids = read_identities(identity_args, identities_file);
  } catch (const std::exception& e) {
    std::cerr << "directory_bench: " << e.what() << '\n';
    return 2;
  }
  if (ids.empty()) {
    std::cerr << "directory_bench: no identities (--identity or --identities)\n";
    return 2;
  }
  const auto loaded = policy::load_config(config_file, dictionary);
  if (!loaded) {
    std::cerr << loaded.error() << '\n';
    return 2;
  }
  const auto& cfg = (*loaded)->directory;
  const bool is_ldap = cfg.backend == ldap::directory_backend::ldap;
  const unsigned lanes =
      concurrency != 0 ? concurrency : (is_ldap ? std::max(1u, cfg.ldap.pool_size) : 1u);

  auto uncached_cfg = cfg;
  uncached_cfg.ldap.cache.ttl = std::chrono::seconds(0);
  uncached_cfg.ldap.cache.negative_ttl = std::chrono::seconds(0);
  uncached_cfg.password_cache_ttl = std::chrono::seconds(0);

  std::vector<phase_result> phases;
  std::vector<identity_figures> figures;
  try {
    phases.push_back(cold(cfg, ids, lanes, seconds));
    phases.push_back(steady("uncached", uncached_cfg, ids, lanes, seconds));
    phases.push_back(steady("warm", cfg, ids, lanes, seconds));
    if (is_ldap) figures = per_identity(cfg, ids);
  } catch (const std::exception& e) {
    std::cerr << "directory_bench: " << e.what() << '\n';
    return 2;
  }

  std::vector<std::string> notes;
  if (is_ldap && (cfg.ldap.cache.ttl.count() == 0 || cfg.password_cache_ttl.count() == 0))
    notes.push_back("the configuration turns a cache off: the warm phase is not warm");

  if (json) {
    nlohmann::ordered_json j;
    j["backend"] = is_ldap ? "ldap" : "local";
    if (is_ldap) {
      j["servers"] = nlohmann::ordered_json::array();
      for (const auto& s : cfg.ldap.servers) j["servers"].push_back(s.url);
      j["nested_groups"] = ldap::nested_groups_name(cfg.ldap.nested_groups);
      j["pool_size"] = cfg.ldap.pool_size;
    }
    j["identities"] = ids.size();
    j["concurrency"] = lanes;
    j["phases"] = nlohmann::ordered_json::object();
    for (const auto& p : phases) j["phases"][p.name] = to_json(p);
    j["per_identity"] = nlohmann::ordered_json::array();
    for (const auto& f : figures)
      j["per_identity"].push_back({{"identity", f.name},
                                   {"status", f.status},
                                   {"server", f.server},
                                   {"groups", f.groups},
                                   {"direct_groups", f.direct_groups},
                                   {"lookup_operations", f.lookup_operations}});
    j["notes"] = notes;
    std::cout << j.dump(2) << '\n';
    return 0;
  }

  if (is_ldap)
    fmt::print("directory benchmark: {} identities, {} server(s) from {}, nested_groups {}, pool "
               "{}, concurrency {}\n\n",
               ids.size(), cfg.ldap.servers.size(), cfg.ldap.servers.front().url,
               ldap::nested_groups_name(cfg.ldap.nested_groups), cfg.ldap.pool_size, lanes);
  else
    fmt::print("directory benchmark: {} identities, local user file, concurrency {}\n\n",
               ids.size(), lanes);
  fmt::print("{:<9} {:>8} {:>8} {:>11} {:>9} {:>13} {:>10} {:>9} {:>12}\n", "phase", "auths",
             "seconds", "auths/s", "ops/auth", "ops/auth open", "searches", "binds",
             "unavailable");
  for (const auto& p : phases) {
    const auto j = to_json(p);
    fmt::print("{:<9} {:>8} {:>8.3f} {:>11.0f} {:>9.2f} {:>13.2f} {:>10} {:>9} {:>12}\n", p.name,
               p.t.auths, p.seconds, j["authentications_per_second"].get<double>(),
               j["operations_per_auth"].get<double>(),
               j["operations_per_auth_connections_open"].get<double>(), p.c.searches,
               p.c.binds, p.t.unavailable);
  }
  fmt::print("\nops/auth: LDAP searches + binds per authentication; \"open\": without the "
             "service-account binds made when connections open.\n");
  if (!figures.empty()) {
    fmt::print("\nper identity (one lookup, connection open; a PAP check adds one bind):\n");
    for (const auto& f : figures)
      fmt::print("  {:<34} {:<10} groups {:>3} ({} direct)  lookup operations {}\n", f.name,
                 f.status, f.groups, f.direct_groups, f.lookup_operations);
  }
  for (const auto& n : notes) fmt::print("note: {}\n", n);
  return 0;
}
