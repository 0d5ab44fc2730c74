#pragma once
// radload (bench/radload.cc), the load tool, run by a test: in the foreground or in the
// background while the test does something else, its JSON summary parsed.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#ifdef NPSD_RADLOAD

namespace npsd::test {

class background_radload {
 public:
  // `args` after "radload --json": mode, port, secret, load shape.
  explicit background_radload(const std::string& args)
      : p_(::popen((std::string(NPSD_RADLOAD) + " --json " + args + " 2>&1").c_str(), "r")) {
    REQUIRE(p_ != nullptr);
  }
  ~background_radload() {
    if (p_ != nullptr) ::pclose(p_);
  }
  background_radload(const background_radload&) = delete;
  background_radload& operator=(const background_radload&) = delete;

  // Waits for radload to end; its summary.
  nlohmann::json finish() {
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p_)) > 0;) out.append(buf, n);
    ::pclose(p_);
    p_ = nullptr;
    const auto brace = out.find('{');
    REQUIRE_MESSAGE(brace != std::string::npos, out);
    return nlohmann::json::parse(out.substr(brace, out.find('\n', brace) - brace));
  }

 private:
  FILE* p_;
};

inline nlohmann::json radload(const std::string& args) { return background_radload(args).finish(); }

}  // namespace npsd::test

#endif
