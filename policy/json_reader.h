#pragma once
// Strict reading of a JSON configuration document: every error names the JSON pointer of the
// offending field and what was expected; unknown keys are errors.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace npsd::policy {

// Thrown only while loading configuration (never on the data plane); the loader turns it into
// an error value. The message never includes a secret's value.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A path written in a configuration file: relative paths are taken from the file's directory.
inline std::filesystem::path resolve_path(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

class json_reader {
 public:
  json_reader(const nlohmann::json& j, std::string pointer) : j_(j), ptr_(std::move(pointer)) {}

  const std::string& pointer() const noexcept { return ptr_; }
  const nlohmann::json& json() const noexcept { return j_; }
  [[noreturn]] void fail(std::string_view what) const;

  // Object access. `allow` lists every key the object may have.
  void expect_object(std::initializer_list<std::string_view> allowed) const;
  bool has(std::string_view key) const;
  json_reader at(std::string_view key) const;  // required key
  std::optional<json_reader> get(std::string_view key) const;

  // Scalars.
  std::string string() const;
  std::string non_empty_string() const;
  bool boolean() const;
  std::int64_t integer(std::int64_t min, std::int64_t max) const;
  std::string one_of(std::initializer_list<std::string_view> choices) const;

  // Arrays.
  std::size_t array_size() const;
  json_reader operator[](std::size_t i) const;
  void for_each(const std::function<void(const json_reader&)>& f) const;

  // Optional members with defaults.
  std::string string_or(std::string_view key, std::string fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t min,
                          std::int64_t max) const;

 private:
  const nlohmann::json& j_;
  std::string ptr_;
};

std::string_view json_type_name(const nlohmann::json& j) noexcept;

}  // namespace npsd::policy
