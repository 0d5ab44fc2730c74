#include "npsctl/control_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/core.h>

namespace npsd::npsctl {

namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t max_reply_bytes = 1 << 20;

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

unexpected<control_error> failure(control_failure kind, std::string message) {
  return unexpected(control_error{kind, std::move(message)});
}

std::string errno_text(int err) { return std::generic_category().message(err); }

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, clock::time_point deadline, int& err) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) {
      err = errno;
      return true;
    }
  }
}

}  // namespace

expected<std::string, control_error> control_exchange(const std::filesystem::path& socket,
                                                      std::string_view request,
                                                      std::chrono::milliseconds timeout) {
  const std::string path = socket.string();
  const auto deadline = clock::now() + timeout;
  const auto not_running = [&] {
    return failure(control_failure::not_running,
                   fmt::format("npsd is not running (no one listens on {})", path));
  };
  const auto timed_out = [&] {
    return failure(control_failure::timeout,
                   fmt::format("npsd did not answer on {} within {} s", path,
                               std::chrono::duration<double>(timeout).count()));
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return failure(control_failure::io, fmt::format("{}: the socket path is too long", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  fd_guard fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0)
    return failure(control_failure::io, "cannot create a socket: " + errno_text(errno));
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {  // the listen backlog is full: try again shortly
      if (clock::now() >= deadline) return timed_out();
      ::usleep(10000);
      continue;
    }
    if (err == EINPROGRESS) {
      int perr = 0;
      if (!wait_for(fd.get(), POLLOUT, deadline, perr)) return timed_out();
      socklen_t len = sizeof err;
      if (perr != 0)
        err = perr;
      else if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      if (err == 0) break;
    }
    if (err == ENOENT || err == ECONNREFUSED) return not_running();
    if (err == EACCES || err == EPERM)
      return failure(control_failure::denied,
                     fmt::format("permission denied on {}: run npsctl as root or as the user "
                                 "npsd runs as",
                                 path));
    return failure(control_failure::io,
                   fmt::format("cannot connect to {}: {}", path, errno_text(err)));
  }

  const std::string line = std::string(request) + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int err = 0;
      if (!wait_for(fd.get(), POLLOUT, deadline, err)) return timed_out();
      continue;
    }
    return failure(control_failure::io,
                   fmt::format("cannot send to npsd on {}: {}", path, errno_text(errno)));
  }

  std::string reply;
  char buf[4096];
  for (;;) {
    const auto nl = reply.find('\n');
    if (nl != std::string::npos) return reply.substr(0, nl);
    if (reply.size() > max_reply_bytes)
      return failure(control_failure::io, fmt::format("the reply from npsd on {} is too long", path));
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      if (!reply.empty()) return reply;  // a last line without its newline
      return failure(control_failure::io,
                     fmt::format("npsd closed the connection on {} without answering", path));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int err = 0;
      if (!wait_for(fd.get(), POLLIN, deadline, err)) return timed_out();
      continue;
    }
    return failure(control_failure::io,
                   fmt::format("cannot read from npsd on {}: {}", path, errno_text(errno)));
  }
}

}  // namespace npsd::npsctl
