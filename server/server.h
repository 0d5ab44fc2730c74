#pragma once
// The npsd daemon: io threads, a compute pool for password KDFs, listeners, signals
// (SIGTERM/SIGINT: drain and exit; SIGHUP: reload) and the runtime swapped on reload.
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "radius/expected.h"
#include "server/counters.h"
#include "server/metrics.h"
#include "accounting/store.h"
#include "server/request_handler.h"
#include "server/runtime.h"

namespace npsd::server {

struct server_options {
  std::filesystem::path config_file;
  std::filesystem::path default_dictionary;
  std::filesystem::path ready_file;  // written once every listener is bound (may be empty)
};

// The compute threads (password KDFs). A job that waited longer than the configuration's
// server.max_queue_wait_ms is dropped unstarted, counted in `expired`: its request is
// discarded, as the NAS has given up on it, so that a backlog built under overload is not
// worked off while fresh requests wait behind it.
struct compute_pool {
  boost::asio::thread_pool& threads;
  std::atomic<std::uint64_t>& expired;
};

// Loads the configuration and everything it names (dictionary, users file), fully validated.
// The directory's KDF work is offloaded to `compute` when given; its LDAP operations are
// timed into `m` when given (npsd_directory_operation_seconds).
expected<std::shared_ptr<const runtime>, std::string> load_runtime(
    const server_options& opts, compute_pool* compute, std::shared_ptr<metrics> m = nullptr);

class server {
 public:
  explicit server(server_options opts);
  ~server();
  // Starts, serves until SIGTERM/SIGINT, drains, returns the exit code.
  int run();

 private:
  // Loads and swaps in the configuration: the message to report, or why it was refused.
  expected<std::string, std::string> reload();
  expected<std::string, std::string> reload_locked();  // reload() without the notifications
  nlohmann::json control(const nlohmann::json& request);
  // The Prometheus exposition: the handler's labelled counters and histograms, then the
  // daemon's counters and the EAP, directory and accounting figures read now.
  std::string metrics_text() const;
  // Rebuilds the TLS context when a CRL file changed (a timer calls it).
  void refresh_crls();
  std::shared_ptr<const runtime> current() const;
  bool write_ready_file() const;  // false: it could not be written

  server_options opts_;
  compute_pool* compute_ = nullptr;  // owned by run()
  std::atomic<request_handler*> handler_{nullptr};  // owned by run()
  std::atomic<accounting::store*> store_{nullptr};  // owned by run()
  std::string ready_json_;
  std::shared_ptr<const runtime> runtime_;
  mutable std::mutex runtime_mu_;
  std::mutex reload_mu_;  // one reload at a time (SIGHUP and npsctl may race)
  std::uint64_t generation_ = 1;
  counters counters_;
  // Null unless the configuration has "metrics"; shared with the directories' timing callbacks,
  // which may outlive the server on an LDAP worker finishing an operation.
  std::shared_ptr<metrics> metrics_;
};

}  // namespace npsd::server
