#include "ldap/ldap_directory.h"

#include <ldap.h>
#include <openssl/crypto.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ldap/account_cache.h"
#include "ldap/ldap_connection.h"
#include "ldap/ldap_mapping.h"

namespace npsd::ldap {

namespace {

using clock = std::chrono::steady_clock;
using detail::connection;
using detail::ldap_error;

// The default log sink: "message key=value ..." on spdlog's default logger.
void default_log(log_level level, std::string_view message,
                 std::span<const log_field_text> fields) {
  const auto lvl = level == log_level::debug  ? spdlog::level::debug
                   : level == log_level::info ? spdlog::level::info
                   : level == log_level::warn ? spdlog::level::warn
                                              : spdlog::level::err;
  if (!spdlog::should_log(lvl)) return;
  std::string line(message);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    const bool quote = f.value.empty() || f.value.find_first_of(" \"=") != std::string_view::npos;
    if (quote) line += '"';
    line += f.value;
    if (quote) line += '"';
  }
  spdlog::log(lvl, "{}", line);
}

// A password held by a job: wiped when the last copy of the job goes.
struct secret {
  std::string value;
  explicit secret(std::string v) : value(std::move(v)) {}
  secret(const secret&) = delete;
  secret& operator=(const secret&) = delete;
  ~secret() { OPENSSL_cleanse(value.data(), value.size()); }
};

// Runs `done` exactly once: with the answer, or with the fallback when dropped unanswered.
template <class T>
class once {
 public:
  once(std::function<void(T)> done, T fallback)
      : done_(std::move(done)), fallback_(std::move(fallback)) {}
  once(const once&) = delete;
  once& operator=(const once&) = delete;
  ~once() {
    if (!fired_.exchange(true)) {
      try {
        done_(std::move(fallback_));
      } catch (...) {  // a destructor must not throw; the caller's handler is at fault
      }
    }
  }
  void operator()(T value) {
    if (fired_.exchange(true)) return;
    auto done = std::move(done_);
    done(std::move(value));
  }

 private:
  std::function<void(T)> done_;
  T fallback_;
  std::atomic<bool> fired_{false};
};

struct lookup_answer {
  lookup_result result;
  lookup_info info;
};

lookup_result unavailable_result(std::string detail) {
  lookup_result r;
  r.status = lookup_status::unavailable;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

// ---- shared state ---------------------------------------------------------------------------

enum class connection_kind { service, user };

struct worker {
  detail::op_counters ops;
  std::optional<connection> service;
  std::size_t service_server = 0;
  std::optional<connection> user;
  std::size_t user_server = 0;

  std::uint64_t operations() const {
    return ops.searches.load(std::memory_order_relaxed) + ops.binds.load(std::memory_order_relaxed);
  }
};

struct job {
  std::function<void(worker&)> run;
  std::function<void()> cancel;  // instead of run, when the directory stops first
};

struct server_health {
  enum class status { unknown, up, down };
  status st = status::unknown;
  clock::time_point retry_at{};
};

struct ldap_directory::state {
  ldap_config cfg;
  log_fn log;
  timing_fn timing;
  account_cache accounts;
  credential_cache passwords;

  std::mutex health_mu;
  std::vector<server_health> health;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<job> queue;
  bool stopping = false;

  std::vector<std::unique_ptr<worker>> workers;  // fixed before the threads start

  std::atomic<std::uint64_t> lookups{0}, password_checks{0}, unavailable{0}, queue_full{0};
  std::atomic<bool> in_chain_warned{false};

  std::mutex log_mu;  // for the repeated-error limiter
  std::string last_error_text;
  clock::time_point last_error_at{};
  std::uint64_t errors_held = 0;

  state(ldap_config c, credential_cache_options pw, log_fn l, timing_fn t)
      : cfg(std::move(c)),
        log(l ? std::move(l) : log_fn(default_log)),
        timing(std::move(t)),
        accounts(cfg.cache.ttl, cfg.cache.negative_ttl, cfg.cache.max_entries),
        passwords(std::move(pw)),
        health(cfg.servers.size()) {}

  void emit(log_level level, std::string_view message,
            std::initializer_list<log_field_text> fields) {
    try {
      log(level, message, std::span<const log_field_text>(fields.begin(), fields.size()));
    } catch (...) {  // logging must never take a request down
    }
  }

  // The same error again and again (a misconfiguration hits every request): once a minute.
  void emit_error(std::string_view message, const std::string& text,
                  std::initializer_list<log_field_text> fields) {
    std::uint64_t held = 0;
    {
      std::lock_guard lock(log_mu);
      const auto now = clock::now();
      if (text == last_error_text && now - last_error_at < std::chrono::minutes(1)) {
        ++errors_held;
        return;
      }
      held = errors_held;
      errors_held = 0;
      last_error_text = text;
      last_error_at = now;
    }
    std::vector<log_field_text> all(fields);
    all.push_back({"error", text});
    const auto held_text = std::to_string(held);
    if (held > 0) all.push_back({"repeats_held_back", held_text});
    try {
      log(log_level::error, message, all);
    } catch (...) {
    }
  }

  // ---- server health ----

  bool eligible(std::size_t i, clock::time_point now) {
    std::lock_guard lock(health_mu);
    return health[i].st != server_health::status::down || now >= health[i].retry_at;
  }

  bool better_server_eligible(std::size_t current) {
    const auto now = clock::now();
    for (std::size_t j = 0; j < current; ++j)
      if (eligible(j, now)) return true;
    return false;
  }

  void mark_down(std::size_t i, const std::string& why) {
    bool changed = false;
    {
      std::lock_guard lock(health_mu);
      changed = health[i].st != server_health::status::down;
      health[i].st = server_health::status::down;
      health[i].retry_at = clock::now() + cfg.retry_after;
    }
    const auto retry = std::to_string(cfg.retry_after.count());
    if (changed)
      emit(log_level::warn, "ldap server down", {{"server", cfg.servers[i].url},
                                                 {"error", why},
                                                 {"retry_after_seconds", retry}});
    else
      emit(log_level::debug, "ldap server still down", {{"server", cfg.servers[i].url},
                                                        {"error", why},
                                                        {"retry_after_seconds", retry}});
  }

  void mark_up(std::size_t i) {
    server_health::status before;
    {
      std::lock_guard lock(health_mu);
      before = health[i].st;
      health[i].st = server_health::status::up;
    }
    if (before == server_health::status::down)
      emit(log_level::info, "ldap server up again", {{"server", cfg.servers[i].url}});
    else if (before == server_health::status::unknown)
      emit(log_level::info, "ldap server up", {{"server", cfg.servers[i].url}});
  }

  detail::connection_options options_for(std::size_t i) const {
    detail::connection_options o;
    o.server = cfg.servers[i];
    o.start_tls = cfg.start_tls;
    o.verify_certificate = cfg.verify_certificate;
    o.ca_file = cfg.ca_file.string();
    o.timeout = cfg.timeout;
    return o;
  }

  // A connection of `kind` to the first server that is not resting after a failure; the
  // service kind is bound as the service account. Failures mark servers down.
  std::optional<std::pair<connection, std::size_t>> connect(worker& w, connection_kind kind,
                                                            std::string& last_error) {
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
      if (!eligible(i, clock::now())) continue;
      auto c = connection::open(options_for(i), w.ops);
      if (!c) {
        last_error = "cannot connect: " + c.error().text;
        mark_down(i, last_error);
        continue;
      }
      if (kind == connection_kind::service && !cfg.bind_dn.empty()) {
        if (auto b = c->simple_bind(cfg.bind_dn, cfg.bind_password)) {
          // Also a failure of the server: retrying at once could lock the service account out.
          last_error = "the service account bind was refused: " + b->text;
          mark_down(i, last_error);
          continue;
        }
      }
      mark_up(i);
      return std::pair{std::move(*c), i};
    }
    return std::nullopt;
  }

  struct attempt {
    enum class outcome { ok, error, no_server } result = outcome::no_server;
    std::optional<ldap_error> error;  // outcome::error: the operation's own error
    std::string server;               // who answered
    std::string last_failure;         // outcome::no_server: the last server's failure
  };

  // Runs `op` on a connection of `kind`. A server-down error moves on: first to a fresh
  // connection when a kept one failed (it may merely have gone stale), then to the next
  // server. Another error is the operation's answer.
  attempt run(worker& w, connection_kind kind,
              const std::function<std::optional<ldap_error>(connection&)>& op) {
    auto& slot = kind == connection_kind::service ? w.service : w.user;
    auto& slot_server = kind == connection_kind::service ? w.service_server : w.user_server;
    attempt a;
    const std::size_t max_attempts = 2 * cfg.servers.size() + 2;
    for (std::size_t n = 0; n < max_attempts; ++n) {
      bool reused = false;
      if (slot && better_server_eligible(slot_server)) slot.reset();  // fail back
      if (slot) {
        reused = true;
      } else {
        auto c = connect(w, kind, a.last_failure);
        if (!c) {
          a.result = attempt::outcome::no_server;
          if (a.last_failure.empty()) a.last_failure = "every server is resting after a failure";
          return a;
        }
        slot = std::move(c->first);
        slot_server = c->second;
      }
      auto err = op(*slot);
      if (!err) {
        a.result = attempt::outcome::ok;
        a.server = cfg.servers[slot_server].url;
        return a;
      }
      if (!err->server_down()) {
        a.result = attempt::outcome::error;
        a.error = std::move(err);
        a.server = cfg.servers[slot_server].url;
        return a;
      }
      slot.reset();
      a.last_failure = err->text;
      if (!reused) mark_down(slot_server, err->text);
    }
    a.result = attempt::outcome::no_server;
    return a;
  }

  // ---- the queue ----

  bool enqueue(job j) {
    {
      std::lock_guard lock(queue_mu);
      if (stopping) return false;
      if (queue.size() >= cfg.queue_limit) {
        queue_full.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      queue.push_back(std::move(j));
    }
    queue_cv.notify_one();
    return true;
  }

  void worker_loop(worker& w) {
    // libldap writes to sockets with write(): a server that went away must give EPIPE, not a
    // SIGPIPE that ends the process. Blocked in this thread only.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (;;) {
      job j;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) break;
        j = std::move(queue.front());
        queue.pop_front();
      }
      try {
        j.run(w);
      } catch (const std::exception& e) {
        emit(log_level::error, "ldap worker: unexpected error", {{"error", e.what()}});
      } catch (...) {
        emit(log_level::error, "ldap worker: unexpected error", {});
      }
    }
    w.service.reset();  // unbind on the thread that owns the connections
    w.user.reset();
  }

  // ---- lookups ----

  struct groups_found {
    std::vector<group> groups;  // direct first
    std::size_t direct = 0;
  };

  // The groups by following member_of upwards from `direct_dns`, reading group entries level
  // by level.
  expected<groups_found, ldap_error> groups_by_member_of(connection& c,
                                                         const std::vector<std::string>& direct_dns,
                                                         const std::string& who) {
    groups_found out;
    std::unordered_set<std::string> seen;
    std::vector<std::string> frontier;
    for (const auto& dn : direct_dns)
      if (dn_within(dn, cfg.group_base_dn) && seen.insert(normalize_dn(dn)).second)
        frontier.push_back(dn);
    const std::vector<std::string> attrs{cfg.attributes.group_name, cfg.attributes.member_of};
    for (std::size_t depth = 0; !frontier.empty(); ++depth) {
      if (depth >= max_group_depth) {
        emit(log_level::warn, "ldap: group nesting deeper than the limit; deeper groups ignored",
             {{"account", who}, {"limit", std::to_string(max_group_depth)}});
        break;
      }
      if (out.groups.size() + frontier.size() > max_groups) {
        emit(log_level::warn, "ldap: more groups than the limit; the rest ignored",
             {{"account", who}, {"limit", std::to_string(max_groups)}});
        frontier.resize(max_groups - out.groups.size());
      }
      std::vector<std::string> why;
      auto read = c.read_entries(frontier, attrs, &why);
      if (!read) return npsd::unexpected(std::move(read.error()));
      for (const auto& w : why)
        emit(log_level::debug, "ldap: a group could not be read", {{"account", who}, {"group", w}});
      std::vector<std::string> next;
      for (auto& e : *read) {
        if (!e) continue;
        out.groups.push_back(map_group(*e, cfg));
        if (const auto* parents = e->find(cfg.attributes.member_of))
          for (const auto& p : *parents)
            if (dn_within(p, cfg.group_base_dn) && seen.insert(normalize_dn(p)).second)
              next.push_back(p);
      }
      if (depth == 0) out.direct = out.groups.size();
      if (out.groups.size() >= max_groups && !next.empty()) {
        emit(log_level::warn, "ldap: more groups than the limit; the rest ignored",
             {{"account", who}, {"limit", std::to_string(max_groups)}});
        break;
      }
      frontier = std::move(next);
    }
    return out;
  }

  // The direct groups only: named from their DN when the RDN is the group name attribute
  // (no request), else read.
  expected<groups_found, ldap_error> direct_groups(connection& c,
                                                   const std::vector<std::string>& direct_dns) {
    groups_found out;
    std::unordered_set<std::string> seen;
    std::vector<std::string> to_read;
    for (const auto& dn : direct_dns) {
      if (!dn_within(dn, cfg.group_base_dn) || !seen.insert(normalize_dn(dn)).second) continue;
      if (out.groups.size() + to_read.size() >= max_groups) break;
      const auto rdn = first_rdn(dn);
      if (rdn && normalize_dn(rdn->first + "=x") == normalize_dn(cfg.attributes.group_name + "=x"))
        out.groups.push_back(group{rdn->second, dn});
      else
        to_read.push_back(dn);
    }
    if (!to_read.empty()) {
      auto read = c.read_entries(to_read, {cfg.attributes.group_name});
      if (!read) return npsd::unexpected(std::move(read.error()));
      for (auto& e : *read)
        if (e) out.groups.push_back(map_group(*e, cfg));
    }
    out.direct = out.groups.size();
    return out;
  }

  expected<groups_found, ldap_error> groups_in_chain(connection& c, const mapped_account& m) {
    detail::search_spec spec;
    spec.base = cfg.group_base_dn;
    spec.filter = in_chain_filter(m.acct.dn);
    spec.attributes = {cfg.attributes.group_name};
    spec.paged = true;
    auto found = c.search(spec);
    std::string problem;
    if (!found) {
      if (found.error().server_down()) return npsd::unexpected(std::move(found.error()));
      problem = "the in_chain group search failed: " + found.error().text;
    } else if (found->entries.empty() &&
               std::any_of(m.direct_group_dns.begin(), m.direct_group_dns.end(),
                           [&](const std::string& dn) { return dn_within(dn, cfg.group_base_dn); })) {
      problem =
          "the in_chain group search found no group although the account has direct groups: "
          "the server may not support LDAP_MATCHING_RULE_IN_CHAIN";
    }
    if (!problem.empty()) {
      if (!in_chain_warned.exchange(true))
        emit(log_level::warn,
             "ldap: nested groups resolved by following memberOf instead (set nested_groups "
             "to member_of for this directory)",
             {{"reason", problem}});
      return groups_by_member_of(c, m.direct_group_dns, m.acct.name);
    }
    if (found->code == LDAP_SIZELIMIT_EXCEEDED)
      emit(log_level::warn,
           "ldap: the server cut the group search short (size limit): groups may be missing",
           {{"account", m.acct.name}, {"groups_returned", std::to_string(found->entries.size())}});
    if (!found->references.empty())
      emit(log_level::debug, "ldap: continuation references not followed (group search)",
           {{"account", m.acct.name}, {"count", std::to_string(found->references.size())}});
    std::unordered_set<std::string> direct;
    for (const auto& dn : m.direct_group_dns) direct.insert(normalize_dn(dn));
    groups_found out;
    std::vector<group> nested;
    for (const auto& e : found->entries) {
      if (out.groups.size() + nested.size() >= max_groups) {
        emit(log_level::warn, "ldap: more groups than the limit; the rest ignored",
             {{"account", m.acct.name}, {"limit", std::to_string(max_groups)}});
        break;
      }
      auto g = map_group(e, cfg);
      (direct.count(normalize_dn(g.dn)) != 0 ? out.groups : nested).push_back(std::move(g));
    }
    out.direct = out.groups.size();
    for (auto& g : nested) out.groups.push_back(std::move(g));
    return out;
  }

  lookup_answer lookup(worker& w, const std::string& identity) {
    lookup_answer ans;
    const auto parts = parse_identity(identity);
    if (parts.name.empty()) {
      ans.result.status = lookup_status::not_found;
      ans.result.detail = "an empty account name cannot be looked up";
      return ans;
    }
    detail::search_spec spec;
    spec.base = cfg.base_dn;
    spec.filter = expand_filter(parts.machine ? cfg.machine_filter : cfg.user_filter, parts);
    spec.attributes = account_attributes(cfg);
    spec.size_limit = 2;  // two are enough to tell an ambiguous identity

    const auto ops_before = w.operations();
    lookup_result result;
    std::size_t direct = 0;
    const auto outcome = run(w, connection_kind::service, [&](connection& c) -> std::optional<ldap_error> {
      result = {};
      direct = 0;
      auto found = c.search(spec);
      if (!found) return std::move(found.error());
      if (!found->references.empty())
        emit(log_level::debug, "ldap: continuation references not followed",
             {{"identity", identity}, {"count", std::to_string(found->references.size())}});
      if (found->entries.empty()) {
        result.status = lookup_status::not_found;
        result.detail = "no entry under " + cfg.base_dn + " matches " + spec.filter;
        return std::nullopt;
      }
      if (found->entries.size() > 1 || found->code == LDAP_SIZELIMIT_EXCEEDED) {
        emit(log_level::warn, "ldap: the identity matches more than one entry; refused",
             {{"identity", identity}, {"filter", spec.filter}});
        result.status = lookup_status::not_found;
        result.detail = "more than one entry matches " + spec.filter;
        return std::nullopt;
      }
      auto m = map_account(found->entries.front(), cfg, parts.machine);
      for (const auto& n : m.notes)
        emit(log_level::debug, "ldap: account entry", {{"dn", m.acct.dn}, {"note", n}});
      expected<groups_found, ldap_error> groups = groups_found{};
      if (!m.direct_group_dns.empty()) {
        switch (cfg.nested_groups) {
          case nested_groups_mode::none:
            groups = direct_groups(c, m.direct_group_dns);
            break;
          case nested_groups_mode::member_of:
            groups = groups_by_member_of(c, m.direct_group_dns, m.acct.name);
            break;
          case nested_groups_mode::in_chain:
            groups = groups_in_chain(c, m);
            break;
        }
      }
      if (!groups) return std::move(groups.error());
      m.acct.groups = std::move(groups->groups);
      direct = groups->direct;
      result.status = lookup_status::found;
      result.detail = fmt::format("found {} ({} groups, {} direct)", m.acct.dn,
                                  m.acct.groups.size(), direct);
      result.acct = std::move(m.acct);
      return std::nullopt;
    });
    ans.info.operations = w.operations() - ops_before;
    switch (outcome.result) {
      case attempt::outcome::ok:
        ans.result = std::move(result);
        ans.info.server = outcome.server;
        ans.info.direct_groups = direct;
        ans.result.detail += " on " + outcome.server;
        break;
      case attempt::outcome::error:
        emit_error("ldap: directory error; the request is discarded", outcome.error->text,
                   {{"server", outcome.server}, {"identity", identity}});
        ans.result = unavailable_result("directory error on " + outcome.server + ": " +
                                        outcome.error->text);
        ans.info.server = outcome.server;
        break;
      case attempt::outcome::no_server:
        emit_error("ldap: no directory server answered; the request is discarded",
                   outcome.last_failure, {{"identity", identity}});
        ans.result = unavailable_result("no directory server answered: " + outcome.last_failure);
        break;
    }
    return ans;
  }

  password_status bind_as(worker& w, const std::string& dn, const std::string& password) {
    password_status status = password_status::mismatch;
    const auto outcome = run(w, connection_kind::user, [&](connection& c) -> std::optional<ldap_error> {
      if (!c.tls() && !cfg.allow_insecure) {
        status = password_status::no_password;
        emit_error("ldap: refusing to send a password without TLS", "allow_insecure is off",
                   {{"server", c.server().url}});
        return std::nullopt;
      }
      auto b = c.simple_bind(dn, password);
      if (!b) {
        status = password_status::ok;
        return std::nullopt;
      }
      if (b->server_down()) return b;
      status = password_status::mismatch;
      if (b->code != LDAP_INVALID_CREDENTIALS)
        emit(log_level::info, "ldap: the password bind was refused", {{"dn", dn},
                                                                      {"error", b->text}});
      return std::nullopt;
    });
    if (outcome.result == attempt::outcome::no_server) {
      emit_error("ldap: no directory server answered a password check; the request is discarded",
                 outcome.last_failure, {{"dn", dn}});
      return password_status::unavailable;
    }
    return status;
  }
};

// ---- ldap_directory -------------------------------------------------------------------------

ldap_directory::ldap_directory(ldap_config cfg, credential_cache_options password_cache,
                               log_fn log, timing_fn timing)
    : state_(std::make_shared<state>(std::move(cfg), std::move(password_cache), std::move(log),
                                     std::move(timing))) {
  auto& st = *state_;
  if (!st.cfg.verify_certificate && st.cfg.uses_tls())
    st.emit(log_level::warn,
            "ldap: certificate verification is off: anyone on the network path can pose as the "
            "directory",
            {});
  if (st.cfg.allow_insecure)
    for (const auto& s : st.cfg.servers)
      if (!s.ldaps && !st.cfg.start_tls)
        st.emit(log_level::warn,
                "ldap: plain ldap:// without StartTLS: passwords cross the network in clear text "
                "(allow_insecure, for a lab only)",
                {{"server", s.url}});
  detail::connection::initialize_library();  // before any worker connects
  const unsigned n = std::max(1u, st.cfg.pool_size);
  for (unsigned i = 0; i < n; ++i) st.workers.push_back(std::make_unique<worker>());
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    worker* w = st.workers[i].get();
    threads_.emplace_back([s = state_, w] { s->worker_loop(*w); });
  }
}

ldap_directory::~ldap_directory() {
  std::deque<job> pending;
  {
    std::lock_guard lock(state_->queue_mu);
    state_->stopping = true;
    pending.swap(state_->queue);
  }
  state_->queue_cv.notify_all();
  for (auto& j : pending)
    if (j.cancel) j.cancel();
  pending.clear();
  for (auto& t : threads_) {
    // The last reference may go on a worker thread (a completion handler held it): that
    // worker cannot join itself; it holds the state and finishes its loop on its own.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else if (t.joinable())
      t.join();
  }
}

const ldap_config& ldap_directory::config() const noexcept { return state_->cfg; }

void ldap_directory::find_account(std::string identity, std::function<void(lookup_result)> done) {
  find_account_detailed(std::move(identity),
                        [done = std::move(done)](lookup_result r, lookup_info) mutable {
                          done(std::move(r));
                        });
}

void ldap_directory::find_account_detailed(std::string identity,
                                           std::function<void(lookup_result, lookup_info)> done) {
  auto& st = *state_;
  const auto start = clock::now();
  st.lookups.fetch_add(1, std::memory_order_relaxed);
  if (auto hit = st.accounts.get(identity)) {
    lookup_info info;
    info.server = std::move(hit->server);
    info.from_cache = true;
    info.direct_groups = hit->direct_groups;
    info.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
    hit->result.detail += " (cached)";
    done(std::move(hit->result), std::move(info));
    return;
  }
  auto reply = std::make_shared<once<lookup_answer>>(
      [done = std::move(done)](lookup_answer a) mutable {
        done(std::move(a.result), std::move(a.info));
      },
      lookup_answer{unavailable_result("the directory is shutting down"), {}});
  job j;
  j.run = [s = state_, reply, identity, start](worker& w) {
    auto ans = s->lookup(w, identity);
    ans.info.elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
    if (ans.result.status == lookup_status::unavailable)
      s->unavailable.fetch_add(1, std::memory_order_relaxed);
    else
      s->accounts.put(identity, cached_lookup{ans.result, ans.info.direct_groups, ans.info.server});
    const auto status = status_name(ans.result.status);
    if (s->timing) s->timing("lookup", status, ans.info.elapsed);
    s->emit(log_level::debug, "ldap lookup",
            {{"identity", identity},
             {"status", status},
             {"server", ans.info.server},
             {"operations", std::to_string(ans.info.operations)},
             {"ms", std::to_string(ans.info.elapsed.count() / 1000)}});
    (*reply)(std::move(ans));
  };
  j.cancel = [s = state_, reply] {
    s->unavailable.fetch_add(1, std::memory_order_relaxed);
    (*reply)(lookup_answer{unavailable_result("the directory is shutting down"), {}});
  };
  if (!st.enqueue(std::move(j))) {
    st.unavailable.fetch_add(1, std::memory_order_relaxed);
    st.emit_error("ldap: too many lookups waiting; the request is discarded", "queue full",
                  {{"queue_limit", std::to_string(st.cfg.queue_limit)}});
    (*reply)(lookup_answer{unavailable_result("too many directory operations waiting"), {}});
  }
}

void ldap_directory::verify_password(const account& acct, std::string password,
                                     std::function<void(password_status)> done) {
  auto& st = *state_;
  st.password_checks.fetch_add(1, std::memory_order_relaxed);
  auto pw = std::make_shared<secret>(std::move(password));
  if (pw->value.empty()) {  // an empty simple bind is an anonymous bind: never "ok"
    done(password_status::mismatch);
    return;
  }
  if (acct.dn.empty()) {
    done(password_status::no_password);
    return;
  }
  static constexpr std::string_view cache_tag = "ldap-bind";
  if (st.passwords.lookup(acct.dn, pw->value, cache_tag)) {
    done(password_status::ok);
    return;
  }
  auto reply = std::make_shared<once<password_status>>(std::move(done),
                                                       password_status::unavailable);
  job j;
  j.run = [s = state_, reply, pw, dn = acct.dn, start = clock::now()](worker& w) {
    const auto status = s->bind_as(w, dn, pw->value);
    if (status == password_status::ok) s->passwords.insert(dn, pw->value, cache_tag);
    if (status == password_status::unavailable)
      s->unavailable.fetch_add(1, std::memory_order_relaxed);
    if (s->timing)
      s->timing("password_check", status_name(status),
                std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start));
    (*reply)(status);
  };
  j.cancel = [s = state_, reply] {
    s->unavailable.fetch_add(1, std::memory_order_relaxed);
    (*reply)(password_status::unavailable);
  };
  if (!st.enqueue(std::move(j))) {
    st.unavailable.fetch_add(1, std::memory_order_relaxed);
    st.emit_error("ldap: too many password checks waiting; the request is discarded",
                  "queue full", {{"queue_limit", std::to_string(st.cfg.queue_limit)}});
    (*reply)(password_status::unavailable);
  }
}

ldap_stats ldap_directory::stats() const {
  const auto& st = *state_;
  ldap_stats s;
  s.lookups = st.lookups.load();
  s.cache_hits = st.accounts.hits();
  s.cache_misses = st.accounts.misses();
  s.password_checks = st.password_checks.load();
  s.password_cache_hits = st.passwords.hits();
  s.password_cache_misses = st.passwords.misses();
  for (const auto& w : st.workers) {
    s.connects += w->ops.connects.load();
    s.searches += w->ops.searches.load();
    s.binds += w->ops.binds.load();
  }
  s.operations = s.searches + s.binds;
  s.unavailable = st.unavailable.load();
  s.queue_full = st.queue_full.load();
  return s;
}

}  // namespace npsd::ldap
