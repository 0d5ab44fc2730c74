#pragma once
// Reading a password or a shared secret for npsctl: from a terminal (no echo, optionally twice)
// or the first line of standard input.
#include <string>
#include <string_view>
#include <utility>

namespace npsd::npsctl {

// A string that is overwritten when destroyed.
class secret_string {
 public:
  secret_string() = default;
  explicit secret_string(std::string v) : value_(std::move(v)) {}
  ~secret_string();
  secret_string(secret_string&& other) noexcept;  // wipes `other`
  secret_string(const secret_string&) = delete;
  secret_string& operator=(const secret_string&) = delete;
  const std::string& value() const noexcept { return value_; }

 private:
  std::string value_;
};

// If stdin is a terminal: prompts on stderr with echo off (twice when `confirm`, the two must
// match). Otherwise: the first line of stdin, without its line ending. An empty password is
// refused. Throws command_error (exit 2) on refusal.
secret_string read_password(bool confirm);

// The same for any secret; `what` names it in prompts and errors ("shared secret").
secret_string read_secret(std::string_view what, bool confirm);

}  // namespace npsd::npsctl
