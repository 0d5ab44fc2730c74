#include "server/log.h"

#include <atomic>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace npsd::server {

namespace {

std::atomic<bool> json_format{false};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  out += '"';
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  return false;
}

}  // namespace

void setup_logging(const policy::log_config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.file.empty()) {
    logger = std::make_shared<spdlog::logger>(
        "npsd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>(
        "npsd", std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.file.string()));
  }
  json_format = cfg.format == policy::log_format::json;
  if (json_format)
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l",%v})");
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

std::string format_fields(std::string_view msg, std::span<const log_field> fields) {
  std::string out;
  out.reserve(128);
  const bool json = json_format.load(std::memory_order_relaxed);
  if (json) {
    out += "\"msg\":";
    append_json_string(out, msg);
  } else {
    out += msg;
  }
  for (const auto& f : fields) {
    if (json) {
      out += ',';
      append_json_string(out, f.key);
      out += ':';
    } else {
      out += ' ';
      out += f.key;
      out += '=';
    }
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            if (json || needs_quotes(v)) append_json_string(out, v);
            else out += v;
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            out += fmt::format("{:.3f}", v);
          } else {
            out += fmt::format("{}", v);
          }
        },
        f.value);
  }
  return out;
}

std::optional<std::uint64_t> log_limiter::allow(const std::string& key, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= max_keys_) {
      std::erase_if(keys_, [&](const auto& kv) { return now - kv.second.last >= interval_; });
      if (keys_.size() >= max_keys_) return std::nullopt;
    }
    keys_.emplace(key, state{now, 0});
    return 0;
  }
  if (now - it->second.last < interval_) {
    ++it->second.suppressed;
    return std::nullopt;
  }
  const auto held = it->second.suppressed;
  it->second = state{now, 0};
  return held;
}

}  // namespace npsd::server
