#pragma once
// The figures npsd exposes in the Prometheus text format (version 0.0.4): labelled counters,
// gauges read when scraped, and latency histograms. Safe to update from any thread; the
// number of label combinations is bounded (a flood of made-up client or reason values cannot
// grow memory without limit): past `max_series` a family drops new combinations and counts
// them in npsd_metrics_series_dropped_total.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace npsd::server {

// Label values as Prometheus wants them inside "...": backslash, double quote and line feed
// escaped; everything else as it is.
std::string escape_label_value(std::string_view v);

// A histogram of durations with fixed bounds (seconds), from half a millisecond to ten seconds:
// what a RADIUS server's latencies span, from a cached PAP check to a slow directory.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  void observe_us(std::int64_t microseconds) noexcept;
  // Bucket counts (not cumulative; the last is +Inf only), the count and the sum in µs.
  std::array<std::uint64_t, bounds.size() + 1> buckets() const noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum_us() const noexcept { return sum_us_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

class metrics {
 public:
  using labels = std::vector<std::pair<std::string, std::string>>;

  explicit metrics(std::size_t max_series = 10'000) : max_series_(max_series) {}
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // Declares a family once (help text and type); counters and histograms may then be updated
  // by name. Names follow Prometheus conventions (counters end in _total, durations in
  // _seconds).
  void declare_counter(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help);
  // A gauge whose value is read at scrape time (queue depths, conversations in flight).
  void declare_gauge(const std::string& name, const std::string& help,
                     std::function<double()> read);

  void add(const std::string& name, const labels& l, std::uint64_t n = 1);
  void observe_us(const std::string& name, const labels& l, std::int64_t microseconds);

  std::uint64_t counter_value(const std::string& name, const labels& l) const;
  std::uint64_t series_dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }
  // The whole exposition, families in name order and series in label order.
  std::string render() const;

 private:
  enum class kind { counter, histogram, gauge };
  struct family {
    kind k;
    std::string help;
    std::function<double()> read;  // gauges
    mutable std::mutex mu;
    std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> counters;  // by label text
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family* find(const std::string& name, kind k) const;
  void declare(const std::string& name, kind k, const std::string& help,
               std::function<double()> read);

  const std::size_t max_series_;
  std::atomic<std::uint64_t> dropped_{0};
  mutable std::mutex mu_;  // the family map; families are never removed
  std::map<std::string, std::unique_ptr<family>> families_;
};

// {a="x",b="y"} for the labels given (empty when none), values escaped.
std::string label_text(const metrics::labels& l);

// One family of values read at scrape time (the daemon's own counters and gauges), in the
// same format: HELP, TYPE ("counter" or "gauge") and a sample per label set.
void append_family(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type,
                   const std::vector<std::pair<metrics::labels, double>>& samples);

}  // namespace npsd::server
