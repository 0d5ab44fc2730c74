#pragma once
// Log lines as events with named fields: "msg key=value ..." as text, or one JSON object per
// line. No secret is ever passed as a field.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include <spdlog/spdlog.h>

#include "policy/config.h"

namespace npsd::server {

struct log_field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, std::uint64_t, bool, double> value;
};

// Installs the default logger (standard error or a file), text or JSON. Throws on a log file
// that cannot be opened (configuration error).
void setup_logging(const policy::log_config& cfg);

std::string format_fields(std::string_view msg, std::span<const log_field> fields);

inline void log_event(spdlog::level::level_enum lvl, std::string_view msg,
                      std::span<const log_field> fields) {
  if (spdlog::should_log(lvl)) spdlog::log(lvl, "{}", format_fields(msg, fields));
}
inline void log_event(spdlog::level::level_enum lvl, std::string_view msg,
                      std::initializer_list<log_field> fields = {}) {
  log_event(lvl, msg, std::span<const log_field>(fields.begin(), fields.size()));
}

// Lets through one line per key per interval and counts what it held back, so that a flood
// (unknown sources, garbage) cannot flood the log. Bounded: at most max_keys keys remembered.
class log_limiter {
 public:
  using clock = std::chrono::steady_clock;
  log_limiter(clock::duration interval, std::size_t max_keys = 10000)
      : interval_(interval), max_keys_(max_keys) {}
  // nullopt: hold this one back. Otherwise the number held back since the last one let through.
  std::optional<std::uint64_t> allow(const std::string& key, clock::time_point now);

 private:
  struct state {
    clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  std::mutex mu_;
  clock::duration interval_;
  std::size_t max_keys_;
  std::unordered_map<std::string, state> keys_;
};

}  // namespace npsd::server
