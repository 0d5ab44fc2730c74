#include "server/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <fmt/format.h>

namespace npsd::server::service_notify {

namespace {

void send(const std::string& state) {
  // unset_environment = 0: the variables stay for a reload's ready() and the watchdog.
  (void)::sd_notify(0, state.c_str());
}

// A status line is one line: a newline would start another assignment.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

void ready(std::string_view status) { send(fmt::format("READY=1\nSTATUS={}", one_line(status))); }

void reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u +
                    static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration", usec));
}

void stopping() { send("STOPPING=1\nSTATUS=shutting down: finishing the requests in flight"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

void watchdog_ping() { send("WATCHDOG=1"); }

}  // namespace npsd::server::service_notify
