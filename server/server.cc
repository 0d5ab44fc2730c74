#include "server/server.h"

#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fstream>
#include <optional>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ldap/directory_factory.h"
#include "policy/config.h"
#include "server/control_socket.h"
#include "server/file_permissions.h"
#include "server/log.h"
#include "server/metrics_endpoint.h"
#include "server/privileges.h"
#include "server/service_notify.h"
#include "server/udp_listener.h"

namespace npsd::server {

namespace asio = boost::asio;

namespace {

const std::string directory_operation_seconds = "npsd_directory_operation_seconds";
const std::string accounting_commit_seconds = "npsd_accounting_commit_seconds";
const std::string accounting_batch_size = "npsd_accounting_batch_size";

void declare_store_and_directory_metrics(metrics& m) {
  m.declare_histogram(directory_operation_seconds,
                      "LDAP lookups and password checks that went to the directory (not "
                      "answered from the cache), from the call to the answer, by outcome");
  m.declare_histogram(accounting_commit_seconds,
                      "accounting transactions from BEGIN to the end of COMMIT, by outcome");
  m.declare_histogram(accounting_batch_size,
                      "records and events written by one accounting transaction, by outcome",
                      sizes_layout);
}

unsigned threads_or_cores(unsigned configured) {
  return configured != 0 ? configured : std::max(1u, std::thread::hardware_concurrency());
}

// The local back end's KDFs run on the compute pool; the LDAP back end has its own workers
// and logs through log_event, so that JSON logs stay JSON.
std::shared_ptr<ldap::directory> make_directory(const policy::directory_config& d,
                                                compute_pool* compute,
                                                std::chrono::milliseconds max_wait,
                                                std::shared_ptr<metrics> m, std::string& error) {
  ldap::directory_options options;
  if (m)
    options.timing = [m](std::string_view op, std::string_view outcome,
                         std::chrono::microseconds elapsed) {
      m->observe_us(directory_operation_seconds,
                    {{"op", std::string(op)}, {"outcome", std::string(outcome)}}, elapsed.count());
    };
  if (compute != nullptr)
    options.offload = [compute, max_wait](std::function<void()> job) {
      asio::post(compute->threads, [compute, max_wait, job = std::move(job),
                                    queued = std::chrono::steady_clock::now()] {
        // Dropped unrun, the job's request completes as "directory unavailable": discarded.
        if (std::chrono::steady_clock::now() - queued > max_wait) {
          compute->expired.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        job();
      });
    };
  options.log = [](ldap::log_level level, std::string_view msg,
                   std::span<const ldap::log_field_text> fields) {
    const auto lvl = level == ldap::log_level::debug  ? spdlog::level::debug
                     : level == ldap::log_level::info ? spdlog::level::info
                     : level == ldap::log_level::warn ? spdlog::level::warn
                                                      : spdlog::level::err;
    if (!spdlog::should_log(lvl)) return;
    std::vector<log_field> out;
    out.reserve(fields.size());
    for (const auto& f : fields) out.push_back({f.key, f.value});
    log_event(lvl, msg, out);
  };
  auto dir = ldap::make_directory(d, std::move(options));
  if (!dir) {
    error = dir.error();
    return nullptr;
  }
  return std::move(*dir);
}

// BlastRADIUS (CVE-2024-3596): a client that may omit Message-Authenticator can have its
// Access-Requests forged by whoever sits on the path; said at start-up and at every reload.
void warn_about_exempted_clients(const policy::config& c) {
  for (const auto& cl : c.clients) {
    if (cl.require_message_authenticator) continue;
    const auto address = cl.address.to_string();
    log_event(spdlog::level::warn,
              "client exempted from Message-Authenticator (require_message_authenticator "
              "false): its Access-Requests can be forged (BlastRADIUS, CVE-2024-3596)",
              {{"client", std::string_view(cl.name)},
               {"address", std::string_view(address)},
               {"limit_proxy_state", cl.limit_proxy_state}});
  }
}

// What identifies the CRL files' contents cheaply: each one's name, size and time.
std::string crl_signature(const eap::revocation_config& r) {
  std::string sig;
  for (const auto& f : r.crl_files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(f, ec);
    const auto time = std::filesystem::last_write_time(f, ec);
    sig += fmt::format("{}|{}|{};", f.string(), ec ? 0 : size,
                       ec ? 0 : time.time_since_epoch().count());
  }
  return sig;
}

}  // namespace

expected<std::shared_ptr<const runtime>, std::string> load_runtime(const server_options& opts,
                                                                   compute_pool* compute,
                                                                   std::shared_ptr<metrics> m) {
  auto cfg = policy::load_config(opts.config_file, opts.default_dictionary);
  if (!cfg) return unexpected(cfg.error());
  const auto permissions = check_file_permissions(**cfg);
  if (!permissions.refusal.empty()) return unexpected(permissions.refusal);
  if (auto account = resolve_run_as(**cfg); !account) return unexpected(account.error());
  std::string error;
  auto dir = make_directory((*cfg)->directory, compute, (*cfg)->server.max_queue_wait,
                            std::move(m), error);
  if (!dir) return unexpected(error);
  std::shared_ptr<const eap::tls_context> tls;
  std::string signature;
  if ((*cfg)->eap.enabled) {
    signature = crl_signature((*cfg)->eap.revocation);
    auto t = eap::tls_context::make((*cfg)->eap);
    if (!t) return unexpected(fmt::format("{}: /eap: {}", (*cfg)->source.string(), t.error()));
    tls = std::move(*t);
  }
  log_file_permission_warnings(permissions);
  warn_about_exempted_clients(**cfg);
  auto rt = std::make_shared<runtime>(std::move(*cfg), std::move(dir), std::move(tls));
  rt->crl_signature = std::move(signature);
  return std::shared_ptr<const runtime>(std::move(rt));
}

server::server(server_options opts) : opts_(std::move(opts)) {}
server::~server() = default;

std::shared_ptr<const runtime> server::current() const {
  std::lock_guard lock(runtime_mu_);
  return runtime_;
}

bool server::write_ready_file() const {
  if (opts_.ready_file.empty()) return true;
  // Written to a temporary name and renamed, so a reader never sees half a file.
  const auto tmp = opts_.ready_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ready_json_ << '\n';
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, opts_.ready_file, ec);
  return !ec;
}

int server::run() {
  const auto cfg = policy::load_config(opts_.config_file, opts_.default_dictionary);
  if (!cfg) {
    log_event(spdlog::level::critical, "configuration refused", {{"error", cfg.error()}});
    return 2;
  }
  try {
    setup_logging((*cfg)->log);
  } catch (const std::exception& e) {
    log_event(spdlog::level::critical, "cannot open the log file", {{"error", e.what()}});
    return 2;
  }
  const auto& sc = (*cfg)->server;
  asio::thread_pool compute(threads_or_cores(sc.compute_threads));
  compute_pool pool{compute, counters_.overload_expired};
  compute_ = &pool;
  // Before the runtime: its directory reports its operations' times here.
  if (const auto& mc = (*cfg)->metrics; mc.enabled) {
    metrics_ = std::make_shared<metrics>(mc.max_series);
    declare_store_and_directory_metrics(*metrics_);
  }
  auto rt = load_runtime(opts_, &pool, metrics_);
  if (!rt) {
    log_event(spdlog::level::critical, "configuration refused", {{"error", rt.error()}});
    return 2;
  }
  runtime_ = std::move(*rt);
  const auto run_as = resolve_run_as(*runtime_->cfg);
  if (!run_as) {
    log_event(spdlog::level::critical, "configuration refused", {{"error", run_as.error()}});
    return 2;
  }

  asio::io_context io;
  request_handler handler(counters_, sc.duplicate_ttl, sc.duplicate_max_entries,
                          sc.unknown_client_log_interval);
  handler_ = &handler;
  if (metrics_) handler.set_metrics(metrics_.get());
  // Destroyed before the handler: the store's queued completions refer to it.
  std::unique_ptr<accounting::store> store;
  struct store_reset {
    std::atomic<accounting::store*>& s;
    ~store_reset() { s = nullptr; }
  } reset_store{store_};
  struct handler_reset {
    std::atomic<request_handler*>& h;
    ~handler_reset() { h = nullptr; }
  } reset_handler{handler_};
  std::vector<std::unique_ptr<udp_listener>> listeners;
  nlohmann::json ready = {{"pid", ::getpid()}, {"listeners", nlohmann::json::array()}};
  for (const auto& lc : sc.listeners) {
    try {
      listeners.push_back(std::make_unique<udp_listener>(
          io, lc,
          [this, &handler](datagram d, reply_sink send) {
            handler.handle(current(), std::move(d), std::move(send));
          },
          counters_));
    } catch (const boost::system::system_error& e) {
      log_event(spdlog::level::critical, "cannot listen",
                {{"address", std::string_view(lc.address)},
                 {"port", std::int64_t{lc.port}},
                 {"error", e.code().message()}});
      return 1;
    }
    const auto ep = listeners.back()->local_endpoint();
    const auto addr = ep.address().to_string();
    const auto kind = lc.kind == policy::listener_kind::auth ? "auth" : "acct";
    ready["listeners"].push_back({{"type", kind}, {"address", addr}, {"port", ep.port()}});
    log_event(spdlog::level::info, "listening",
              {{"type", std::string_view(kind)},
               {"address", std::string_view(addr)},
               {"port", std::int64_t{ep.port()}}});
  }
  std::unique_ptr<control_socket> control;
  if (!sc.control_socket.empty()) {
    try {
      control = std::make_unique<control_socket>(
          io, sc.control_socket, [this](const nlohmann::json& r) { return this->control(r); });
    } catch (const std::exception& e) {
      log_event(spdlog::level::critical, "cannot open the control socket",
                {{"path", sc.control_socket.string()}, {"error", e.what()}});
      return 1;
    }
    ready["control_socket"] = sc.control_socket.string();
  }
  std::unique_ptr<metrics_endpoint> metrics_http;
  if (const auto& mc = runtime_->cfg->metrics; mc.enabled) {
    try {
      metrics_http = std::make_unique<metrics_endpoint>(io, mc, [this] { return metrics_text(); });
    } catch (const boost::system::system_error& e) {
      log_event(spdlog::level::critical, "cannot listen for metrics scrapes",
                {{"address", std::string_view(mc.address)},
                 {"port", std::int64_t{mc.port}},
                 {"error", e.code().message()}});
      return 1;
    }
    const auto ep = metrics_http->local_endpoint();
    const auto addr = ep.address().to_string();
    ready["metrics"] = {{"address", addr}, {"port", ep.port()}};
    const auto host = ep.address().is_v6() ? "[" + addr + "]" : addr;
    log_event(spdlog::level::info, "serving metrics",
              {{"url", fmt::format("http://{}:{}/metrics", host, ep.port())}});
  }
  ready_json_ = ready.dump();

  // Sockets bound, keys and secrets read: root is no longer needed.
  if (::geteuid() == 0) {
    if (*run_as) {
      const auto& a = **run_as;
      if (control && ::chown(sc.control_socket.c_str(), a.uid, a.gid) != 0)
        log_event(spdlog::level::warn, "cannot hand the control socket to the server user",
                  {{"path", sc.control_socket.string()}, {"error", std::strerror(errno)}});
      if (const auto error = drop_privileges(a); !error.empty()) {
        log_event(spdlog::level::critical, "cannot drop privileges", {{"error", error}});
        return 2;
      }
      log_event(spdlog::level::info, "running as an unprivileged user",
                {{"user", std::string_view(a.user)},
                 {"uid", std::uint64_t{a.uid}},
                 {"gid", std::uint64_t{a.gid}}});
    } else {
      log_event(spdlog::level::warn,
                "running as root: set server.user (and server.group) to an unprivileged "
                "account for npsd to switch to once its sockets are bound");
    }
  } else if (*run_as && ::geteuid() != (*run_as)->uid) {
    log_event(spdlog::level::critical,
              "server.user names another account and npsd was not started as root, so it "
              "cannot switch to it",
              {{"user", std::string_view((*run_as)->user)},
               {"uid", std::uint64_t{::geteuid()}}});
    return 2;
  }

  // Opened after the switch of user, so that the database and its -wal and -shm files belong to
  // the account that writes them.
  if (const auto& ac = runtime_->cfg->accounting; ac.enabled) {
    accounting::store_options so;
    so.dispatch = [&io](std::function<void()> job) { asio::post(io, std::move(job)); };
    if (metrics_)
      so.on_commit = [m = metrics_](const accounting::commit_info& c) {
        const metrics::labels outcome{{"outcome", c.committed ? "committed" : "failed"}};
        m->observe_us(accounting_commit_seconds, outcome, c.elapsed.count());
        m->observe(accounting_batch_size, outcome,
                   static_cast<std::int64_t>(c.records + c.events));
      };
    so.log = [](accounting::store_log_level level, std::string_view msg, std::string_view error) {
      const auto lvl = level == accounting::store_log_level::info   ? spdlog::level::info
                       : level == accounting::store_log_level::warn ? spdlog::level::warn
                                                                    : spdlog::level::err;
      if (error.empty()) log_event(lvl, msg);
      else log_event(lvl, msg, {{"error", error}});
    };
    auto st = accounting::open_sqlite_store(ac, std::move(so));
    if (!st) {
      log_event(spdlog::level::critical, "cannot open the accounting database",
                {{"error", st.error()}});
      return 2;
    }
    store = std::move(*st);
    handler.set_store(store.get(), ac);
    store_ = store.get();
    log_event(spdlog::level::info, "accounting database open",
              {{"database", ac.database.string()},
               {"synchronous", ac.synchronous == accounting::sync_mode::full ? "full" : "normal"}});
  }

  bool stopping = false;
  // An optional only to be destroyed at a chosen moment: see the end of run().
  std::optional<asio::signal_set> signals(std::in_place, io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer drain_timer(io);
  asio::steady_timer crl_timer(io);
  asio::steady_timer sweep_timer(io);
  const auto drain_deadline_holder = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> wait_for_drain = [&] {
    if (handler.in_flight() == 0 || std::chrono::steady_clock::now() >= *drain_deadline_holder) {
      if (handler.in_flight() != 0)
        log_event(spdlog::level::warn, "shutdown: grace period over, requests abandoned",
                  {{"in_flight", std::uint64_t{handler.in_flight()}}});
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(10));
    drain_timer.async_wait([&](boost::system::error_code) { wait_for_drain(); });
  };
  std::function<void(boost::system::error_code, int)> on_signal =
      [&](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          (void)reload();
          signals->async_wait(on_signal);
          return;
        }
        if (stopping) return;
        stopping = true;
        service_notify::stopping();
        log_event(spdlog::level::info, "shutting down: no new requests, finishing those in flight",
                  {{"signal", std::int64_t{sig}}, {"in_flight", std::uint64_t{handler.in_flight()}}});
        for (auto& l : listeners) l->stop();
        if (control) control->stop();
        if (metrics_http) metrics_http->stop();
        crl_timer.cancel();
        sweep_timer.cancel();
        *drain_deadline_holder = std::chrono::steady_clock::now() + current()->cfg->server.shutdown_grace;
        wait_for_drain();
      };
  signals->async_wait(on_signal);

  // CRL files are looked at on a timer and the TLS context rebuilt when one changed.
  std::function<void()> watch_crls = [&] {
    if (stopping) return;
    crl_timer.expires_after(current()->cfg->eap.revocation.check_interval);
    crl_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      refresh_crls();
      watch_crls();
    });
  };
  watch_crls();

  // Abandoned EAP conversations go when their time is up even if no request comes; their
  // memory is handed back to the system.
  std::function<void()> sweep = [&] {
    if (stopping) return;
    sweep_timer.expires_after(std::chrono::seconds(1));
    sweep_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (handler.sweep_eap_conversations() > 0) ::malloc_trim(0);
      sweep();
    });
  };
  sweep();

  // The watchdog's keep-alive goes through the io threads: if they stop turning, it stops and
  // the service manager restarts npsd.
  asio::steady_timer watchdog_timer(io);
  const auto watchdog = service_notify::watchdog_interval();
  std::function<void()> keep_alive = [&] {
    service_notify::watchdog_ping();
    watchdog_timer.expires_after(*watchdog / 2);
    watchdog_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) keep_alive();
    });
  };

  for (auto& l : listeners) l->start();
  if (control) control->start();
  if (!write_ready_file()) {
    log_event(spdlog::level::critical, "cannot write the ready file",
              {{"path", opts_.ready_file.string()}});
    return 1;
  }
  log_event(spdlog::level::info, "npsd ready",
            {{"clients", std::uint64_t{runtime_->cfg->clients.size()}},
             {"io_threads", std::uint64_t{threads_or_cores(sc.threads)}},
             {"compute_threads", std::uint64_t{threads_or_cores(sc.compute_threads)}}});
  service_notify::ready(fmt::format("serving {} clients on {} listeners",
                                    runtime_->cfg->clients.size(), listeners.size()));
  if (watchdog) keep_alive();

  std::vector<std::thread> threads;
  const unsigned n = threads_or_cores(sc.threads);
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  compute.stop();
  compute.join();
  // The store commits what is still queued (records past the grace period) and posts their
  // completions; they run here, while the sockets and the handler still exist, so what was
  // committed is acknowledged and nothing outlives what it refers to.
  io.restart();
  io.poll();
  store_ = nullptr;
  handler.set_store(nullptr, {});
  store.reset();
  io.restart();
  io.poll();
  listeners.clear();
  control.reset();
  if (!opts_.ready_file.empty()) {
    std::error_code ignored;
    std::filesystem::remove(opts_.ready_file, ignored);
  }
  log_event(spdlog::level::info, "npsd stopped",
            {{"received", counters_.received.load()},
             {"accepts", counters_.access_accepts.load()},
             {"rejects", counters_.access_rejects.load()},
             {"dropped_unknown_client", counters_.unknown_client.load()},
             {"dropped_malformed", counters_.malformed.load()},
             {"dropped_bad_message_authenticator", counters_.bad_message_authenticator.load()},
             {"duplicates_replayed", counters_.duplicates_replayed.load()}});
  spdlog::default_logger()->flush();
  // Destroying the signal_set gives SIGTERM, SIGINT and SIGHUP their default action back: one
  // arriving now (a supervisor or an operator repeating the stop) would turn this clean exit,
  // everything committed, into death by signal. They are ignored from here to the exit.
  signals.reset();
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) std::signal(sig, SIG_IGN);
  return 0;
}

void server::refresh_crls() {
  std::lock_guard serial(reload_mu_);
  const auto rt = current();
  const auto& eap = rt->cfg->eap;
  if (!eap.enabled || !eap.revocation.enabled) return;
  auto signature = crl_signature(eap.revocation);
  if (signature == rt->crl_signature) return;
  auto tls = eap::tls_context::make(eap);
  if (!tls) {
    log_event(spdlog::level::err, "CRL files changed but cannot be loaded: keeping the old ones",
              {{"error", tls.error()}});
    return;
  }
  auto next = std::make_shared<runtime>(rt->cfg, rt->directory, std::move(*tls));
  next->crl_signature = std::move(signature);
  {
    std::lock_guard lock(runtime_mu_);
    if (runtime_ != rt) return;  // a reload came first: it read the CRLs itself
    runtime_ = std::move(next);
  }
  log_event(spdlog::level::info, "CRL files reloaded",
            {{"files", std::uint64_t{eap.revocation.crl_files.size()}}});
}

expected<std::string, std::string> server::reload() {
  std::lock_guard serial(reload_mu_);
  // The service manager sees the reload begin and end (SIGHUP and npsctl reload alike).
  service_notify::reloading();
  auto r = reload_locked();
  service_notify::ready(r ? "serving; configuration reloaded (" + *r + ")"
                          : "serving; the last reload was refused: " + r.error());
  return r;
}

expected<std::string, std::string> server::reload_locked() {
  const auto old = current();
  auto rt = load_runtime(opts_, compute_, metrics_);
  if (!rt) {
    log_event(spdlog::level::err, "reload refused: keeping the running configuration",
              {{"error", rt.error()}});
    return unexpected(rt.error());
  }
  const auto& now = (*rt)->cfg->server;
  const auto& before = old->cfg->server;
  auto same_listeners = now.listeners.size() == before.listeners.size();
  for (std::size_t i = 0; same_listeners && i < now.listeners.size(); ++i)
    same_listeners = now.listeners[i].address == before.listeners[i].address &&
                     now.listeners[i].port == before.listeners[i].port &&
                     now.listeners[i].kind == before.listeners[i].kind;
  std::string notes;
  const auto& acct_now = (*rt)->cfg->accounting;
  const auto& acct_before = old->cfg->accounting;
  if (acct_now.enabled != acct_before.enabled || acct_now.database != acct_before.database ||
      acct_now.synchronous != acct_before.synchronous ||
      acct_now.queue_max_records != acct_before.queue_max_records ||
      acct_now.batch_max_records != acct_before.batch_max_records ||
      acct_now.batch_max_delay != acct_before.batch_max_delay ||
      acct_now.log_authentication != acct_before.log_authentication ||
      acct_now.discard_requests_when_logging_fails !=
          acct_before.discard_requests_when_logging_fails)
    notes += "; accounting changes take effect after a restart";
  if (!same_listeners || now.threads != before.threads ||
      now.compute_threads != before.compute_threads || now.control_socket != before.control_socket)
    notes += "; listener, thread and control socket changes take effect after a restart";
  if (now.user != before.user || now.group != before.group)
    notes += "; user and group changes take effect after a restart";
  const auto& m_now = (*rt)->cfg->metrics;
  const auto& m_before = old->cfg->metrics;
  if (m_now.enabled != m_before.enabled || m_now.address != m_before.address ||
      m_now.port != m_before.port || m_now.max_connections != m_before.max_connections ||
      m_now.max_series != m_before.max_series)
    notes += "; metrics changes take effect after a restart";
  // The logger is shared by every thread: only its level changes while running.
  const auto& log_now = (*rt)->cfg->log;
  const auto& log_before = old->cfg->log;
  if (log_now.file != log_before.file || log_now.format != log_before.format)
    notes += "; log file and format changes take effect after a restart";
  spdlog::default_logger()->set_level(spdlog::level::from_str(log_now.level));
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(runtime_mu_);
    runtime_ = std::move(*rt);
    generation = ++generation_;
  }
  const auto c = current();
  auto message = fmt::format(
      "clients: {}, connection request policies: {}, network policies: {}{}",
      c->cfg->clients.size(), c->cfg->pol.crps.size(), c->cfg->pol.nps.size(), notes);
  log_event(spdlog::level::info, "configuration reloaded",
            {{"generation", generation},
             {"clients", std::uint64_t{c->cfg->clients.size()}},
             {"connection_request_policies", std::uint64_t{c->cfg->pol.crps.size()}},
             {"network_policies", std::uint64_t{c->cfg->pol.nps.size()}}});
  if (!notes.empty()) log_event(spdlog::level::warn, notes.substr(2));
  return message;
}

std::string server::metrics_text() const {
  using samples = std::vector<std::pair<metrics::labels, double>>;
  const auto n = [](const std::atomic<std::uint64_t>& a) { return static_cast<double>(a.load()); };
  std::string out = metrics_ ? metrics_->render() : std::string();
  const auto& c = counters_;
  append_family(out, "npsd_packets_received_total", "RADIUS datagrams received", "counter",
                {{{}, n(c.received)}});
  append_family(out, "npsd_packets_dropped_total",
                "datagrams dropped unanswered before any decision, by cause", "counter",
                samples{{{{"cause", "unknown_client"}}, n(c.unknown_client)},
                        {{{"cause", "malformed"}}, n(c.malformed)},
                        {{{"cause", "wrong_port"}}, n(c.wrong_port)},
                        {{{"cause", "bad_authenticator"}}, n(c.bad_authenticator)},
                        {{{"cause", "bad_message_authenticator"}}, n(c.bad_message_authenticator)},
                        {{{"cause", "proxy_state_without_message_authenticator"}},
                         n(c.proxy_state_without_message_authenticator)},
                        {{{"cause", "overload"}}, n(c.overload_dropped)},
                        {{{"cause", "overload_expired"}}, n(c.overload_expired)},
                        {{{"cause", "send_error"}}, n(c.send_errors)}});
  append_family(out, "npsd_duplicates_total",
                "retransmissions: answered again from the cache, or absorbed while in progress",
                "counter",
                samples{{{{"outcome", "replayed"}}, n(c.duplicates_replayed)},
                        {{{"outcome", "absorbed"}}, n(c.duplicates_absorbed)}});
  if (const auto* h = handler_.load()) {
    append_family(out, "npsd_requests_in_flight", "requests being worked on", "gauge",
                  {{{}, static_cast<double>(h->in_flight())}});
    const auto st = h->eap_stats();
    append_family(out, "npsd_eap_conversations", "EAP conversations in flight", "gauge",
                  {{{}, static_cast<double>(h->eap_conversations())}});
    append_family(out, "npsd_eap_conversations_dropped_total",
                  "EAP conversations given up: timed out, or evicted by the limits", "counter",
                  samples{{{{"why", "expired"}}, static_cast<double>(st.expired)},
                          {{{"why", "evicted"}}, static_cast<double>(st.evicted)}});
  }
  std::shared_ptr<const runtime> rt;
  {
    std::lock_guard lock(runtime_mu_);
    rt = runtime_;
  }
  if (const auto* l = rt ? dynamic_cast<const ldap::ldap_directory*>(rt->directory.get()) : nullptr) {
    const auto s = l->stats();
    const auto d = [](auto v) { return static_cast<double>(v); };
    append_family(out, "npsd_directory_lookups_total", "account lookups asked of the directory",
                  "counter", {{{}, d(s.lookups)}});
    append_family(out, "npsd_directory_cache_total",
                  "lookups and password checks answered from npsd's cache (hit) or not (miss)",
                  "counter",
                  samples{{{{"cache", "account"}, {"outcome", "hit"}}, d(s.cache_hits)},
                          {{{"cache", "account"}, {"outcome", "miss"}}, d(s.cache_misses)},
                          {{{"cache", "password"}, {"outcome", "hit"}}, d(s.password_cache_hits)},
                          {{{"cache", "password"}, {"outcome", "miss"}}, d(s.password_cache_misses)}});
    const double looked = d(s.cache_hits) + d(s.cache_misses);
    append_family(out, "npsd_directory_cache_hit_ratio",
                  "account cache hits over lookups since the last reload", "gauge",
                  {{{}, looked > 0 ? d(s.cache_hits) / looked : 0.0}});
    append_family(out, "npsd_directory_operations_total", "LDAP operations sent, by kind",
                  "counter",
                  samples{{{{"op", "connect"}}, d(s.connects)},
                          {{{"op", "search"}}, d(s.searches)},
                          {{{"op", "bind"}}, d(s.binds)}});
    append_family(out, "npsd_directory_errors_total",
                  "lookups that failed: no server answered, or too many were waiting", "counter",
                  samples{{{{"error", "unavailable"}}, d(s.unavailable)},
                          {{{"error", "queue_full"}}, d(s.queue_full)}});
  }
  if (const auto* st = store_.load()) {
    const auto s = st->stats();
    const auto d = [](auto v) { return static_cast<double>(v); };
    append_family(out, "npsd_accounting_queue_depth", "records and events waiting to be written",
                  "gauge", {{{}, d(s.queue_depth)}});
    append_family(out, "npsd_accounting_records_total", "Accounting-Requests by outcome",
                  "counter",
                  samples{{{{"outcome", "stored"}}, d(s.records_stored)},
                          {{{"outcome", "duplicate"}}, d(s.records_duplicate)},
                          {{{"outcome", "failed"}}, d(s.records_failed)},
                          {{{"outcome", "queue_full"}}, d(s.records_queue_full)}});
    append_family(out, "npsd_accounting_events_total", "authentication events by outcome",
                  "counter",
                  samples{{{{"outcome", "stored"}}, d(s.events_stored)},
                          {{{"outcome", "lost"}}, d(s.events_lost)}});
    append_family(out, "npsd_accounting_commits_total", "database transactions, by outcome",
                  "counter",
                  samples{{{{"outcome", "committed"}}, d(s.commits)},
                          {{{"outcome", "failed"}}, d(s.commit_failures)}});
    append_family(out, "npsd_accounting_largest_batch", "the most records one commit wrote",
                  "gauge", {{{}, d(s.largest_batch)}});
    append_family(out, "npsd_accounting_healthy", "1 while the database accepts writes", "gauge",
                  {{{}, s.healthy ? 1.0 : 0.0}});
  }
  return out;
}

nlohmann::json server::control(const nlohmann::json& request) {
  const auto command = request.is_object() && request.contains("command") &&
                               request["command"].is_string()
                           ? request["command"].get<std::string>()
                           : std::string();
  if (command == "reload") {
    const auto r = reload();
    if (!r) return {{"ok", false}, {"error", r.error()}};
    std::lock_guard lock(runtime_mu_);
    return {{"ok", true}, {"message", *r}, {"generation", generation_}};
  }
  if (command == "status") {
    std::lock_guard lock(runtime_mu_);
    // The LDAP back end's counters (since the last reload), for operators and the bench.
    nlohmann::json directory = {{"backend", "local"}};
    if (const auto* l = dynamic_cast<const ldap::ldap_directory*>(runtime_->directory.get())) {
      const auto s = l->stats();
      directory = {{"backend", "ldap"},          {"lookups", s.lookups},
                   {"cache_hits", s.cache_hits}, {"cache_misses", s.cache_misses},
                   {"password_checks", s.password_checks},
                   {"password_cache_hits", s.password_cache_hits},
                   {"password_cache_misses", s.password_cache_misses},
                   {"connects", s.connects},     {"searches", s.searches},
                   {"binds", s.binds},           {"operations", s.operations},
                   {"unavailable", s.unavailable}, {"queue_full", s.queue_full}};
    }
    nlohmann::json eap = {{"enabled", runtime_->tls != nullptr}};
    if (const auto* h = handler_.load()) {
      const auto st = h->eap_stats();
      eap["conversations"] = h->eap_conversations();
      eap["conversations_expired"] = st.expired;
      eap["conversations_evicted"] = st.evicted;
    }
    eap["access_challenges"] = counters_.access_challenges.load();
    nlohmann::json acct = {{"enabled", false}};
    if (const auto* st = store_.load()) {
      const auto s = st->stats();
      acct = {{"enabled", true},
              {"healthy", s.healthy},
              {"records_stored", s.records_stored},
              {"records_duplicate", s.records_duplicate},
              {"records_failed", s.records_failed},
              {"records_queue_full", s.records_queue_full},
              {"events_stored", s.events_stored},
              {"events_lost", s.events_lost},
              {"commits", s.commits},
              {"commit_failures", s.commit_failures},
              {"largest_batch", s.largest_batch},
              {"queue_depth", s.queue_depth}};
      if (!s.last_error.empty()) acct["last_error"] = s.last_error;
    }
    acct["responses"] = counters_.accounting_responses.load();
    acct["not_acknowledged"] = counters_.accounting_not_stored.load();
    acct["discarded_logging_failed"] = counters_.discarded_logging_failed.load();
    return {{"ok", true},
            {"directory", std::move(directory)},
            {"eap", std::move(eap)},
            {"accounting", std::move(acct)},
            {"pid", ::getpid()},
            {"generation", generation_},
            {"config", opts_.config_file.string()},
            {"counters",
             {{"received", counters_.received.load()},
              {"access_accepts", counters_.access_accepts.load()},
              {"access_rejects", counters_.access_rejects.load()},
              {"discarded", counters_.discarded.load()},
              {"dropped_unknown_client", counters_.unknown_client.load()},
              {"dropped_malformed", counters_.malformed.load()},
              {"dropped_bad_message_authenticator", counters_.bad_message_authenticator.load()},
              {"dropped_proxy_state_without_message_authenticator",
               counters_.proxy_state_without_message_authenticator.load()},
              {"duplicates_replayed", counters_.duplicates_replayed.load()},
              {"overload_dropped", counters_.overload_dropped.load()},
              {"overload_expired", counters_.overload_expired.load()}}}};
  }
  return {{"ok", false}, {"error", "unknown command (expected \"reload\" or \"status\")"}};
}

}  // namespace npsd::server
