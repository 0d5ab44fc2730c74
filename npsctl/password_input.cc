#include "npsctl/password_input.h"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "npsctl/command.h"

namespace npsd::npsctl {

namespace {

// The terminal state to restore if a signal ends the process while echo is off.
struct termios saved_termios;
volatile std::sig_atomic_t echo_is_off = 0;

extern "C" void restore_terminal_and_reraise(int sig) {
  if (echo_is_off) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

constexpr int restored_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

class echo_off {
 public:
  echo_off() {
    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
      throw command_error(exit_failure, "cannot read the terminal settings");
    for (std::size_t i = 0; i < std::size(restored_signals); ++i) {
      struct sigaction sa {};
      sa.sa_handler = restore_terminal_and_reraise;
      sigemptyset(&sa.sa_mask);
      sigaction(restored_signals[i], &sa, &previous_[i]);
    }
    struct termios quiet = saved_termios;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    echo_is_off = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
      restore();
      throw command_error(exit_failure, "cannot turn off terminal echo");
    }
  }
  ~echo_off() { restore(); }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;

 private:
  void restore() {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    echo_is_off = 0;
    for (std::size_t i = 0; i < std::size(restored_signals); ++i)
      sigaction(restored_signals[i], &previous_[i], nullptr);
  }
  struct sigaction previous_[std::size(restored_signals)] {};
};

std::string prompt_without_echo(const std::string& prompt, std::string_view what) {
  std::cerr << prompt << std::flush;
  std::string line;
  bool got = false;
  {
    echo_off guard;
    got = static_cast<bool>(std::getline(std::cin, line));
  }
  std::cerr << '\n';
  if (!got) {
    OPENSSL_cleanse(line.data(), line.size());
    throw command_error(exit_bad_input, "no " + std::string(what) + " entered");
  }
  return line;
}

}  // namespace

secret_string::~secret_string() { OPENSSL_cleanse(value_.data(), value_.size()); }

secret_string::secret_string(secret_string&& other) noexcept {
  // Copy then wipe in place: a moved-from short string would keep its bytes.
  value_.assign(other.value_);
  OPENSSL_cleanse(other.value_.data(), other.value_.size());
  other.value_.clear();
}

secret_string read_password(bool confirm) { return read_secret("password", confirm); }

secret_string read_secret(std::string_view what, bool confirm) {
  const std::string name(what);
  if (isatty(STDIN_FILENO)) {
    std::string prompt = name + ": ";
    if (!prompt.empty() && prompt[0] >= 'a' && prompt[0] <= 'z')
      prompt[0] = static_cast<char>(prompt[0] - 'a' + 'A');
    secret_string first(prompt_without_echo(prompt, what));
    if (confirm) {
      secret_string second(prompt_without_echo("Retype " + name + ": ", what));
      if (first.value() != second.value())
        throw command_error(exit_bad_input, "the two " + name + "s do not match");
    }
    if (first.value().empty()) throw command_error(exit_bad_input, "empty " + name + " refused");
    return first;
  }
  std::string line;
  if (!std::getline(std::cin, line)) {
    OPENSSL_cleanse(line.data(), line.size());
    throw command_error(exit_bad_input, "no " + name + " on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  secret_string out(std::move(line));
  if (out.value().empty()) throw command_error(exit_bad_input, "empty " + name + " refused");
  return out;
}

}  // namespace npsd::npsctl
