#pragma once
// npsctl's side of npsd's control socket: connect to the Unix stream socket, write one request
// line, read one reply line, all within a deadline. Failures are values.
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "radius/expected.h"

namespace npsd::npsctl {

enum class control_failure {
  not_running,  // nothing listens on the socket (no file, or connection refused)
  denied,       // no permission on the socket
  timeout,      // npsd did not answer in time
  io,           // any other failure
};

struct control_error {
  control_failure kind = control_failure::io;
  std::string message;  // plain words, naming the socket
};

// Sends `request` followed by '\n' and returns the first reply line (without its '\n').
expected<std::string, control_error> control_exchange(const std::filesystem::path& socket,
                                                      std::string_view request,
                                                      std::chrono::milliseconds timeout);

}  // namespace npsd::npsctl
