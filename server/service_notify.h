#pragma once
// The service manager's notification protocol (systemd Type=notify, through libsystemd):
// readiness, reloads, shutdown and watchdog keep-alives. Every call does nothing when npsd was
// not started by a service manager (no NOTIFY_SOCKET).
#include <chrono>
#include <optional>
#include <string_view>

namespace npsd::server::service_notify {

// Every listener bound, the configuration loaded: "READY=1" and a status line.
void ready(std::string_view status);
// A reload begins ("RELOADING=1" with the monotonic time); ready() again when it is done.
void reloading();
// Shutdown begins: "STOPPING=1".
void stopping();
// The watchdog's interval (WatchdogSec=) when the manager asks for keep-alives; npsd sends
// one every half of it.
std::optional<std::chrono::microseconds> watchdog_interval();
// "WATCHDOG=1".
void watchdog_ping();

}  // namespace npsd::server::service_notify
