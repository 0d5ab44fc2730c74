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
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npsd::server {

// Label values as Prometheus wants them inside "...": backslash, double quote and line feed
// escaped; everything else as it is.
std::string escape_label_value(std::string_view v);

// A histogram with fixed bounds. Observations are integers in a unit of the layout's
// choosing (microseconds for durations, one for counts); the bounds and the sum are exposed in
// the layout's scale (seconds for durations).
struct histogram_layout {
  std::span<const double> bounds;  // ascending, in the exposed scale
  double divisor;                  // observed units per unit of that scale (1e6 µs a second)
};

// Durations from half a millisecond to ten seconds: what a RADIUS server's latencies span,
// from a cached PAP check to a slow directory. Observed in microseconds.
inline constexpr std::array<double, 14> duration_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                        0.025,  0.05,  0.1,    0.25,  0.5,
                                                        1,      2.5,   5,      10};
// Sizes (records in a batch, items in a queue), observed as they are.
inline constexpr std::array<double, 12> size_bounds{1,   2,   5,    10,   20,   50,
                                                    100, 200, 500, 1000, 2000, 5000};
inline constexpr histogram_layout seconds_layout{duration_bounds, 1e6};
inline constexpr histogram_layout sizes_layout{size_bounds, 1};

class histogram {
 public:
  explicit histogram(histogram_layout layout = seconds_layout);
  // `units` in the layout's unit (negative counts as 0).
  void observe(std::int64_t units) noexcept;
  const histogram_layout& layout() const noexcept { return layout_; }
  // Bucket counts (not cumulative; one per bound, then +Inf), the count and the sum in units.
  std::vector<std::uint64_t> buckets() const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  histogram_layout layout_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
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
  // A histogram family; durations unless another layout is given (sizes_layout).
  void declare_histogram(const std::string& name, const std::string& help,
                         histogram_layout layout = seconds_layout);
  // A gauge whose value is read at scrape time (queue depths, conversations in flight).
  void declare_gauge(const std::string& name, const std::string& help,
                     std::function<double()> read);

  void add(const std::string& name, const labels& l, std::uint64_t n = 1);
  // One observation in the family's unit: microseconds for durations, the size for sizes.
  void observe(const std::string& name, const labels& l, std::int64_t units);
  void observe_us(const std::string& name, const labels& l, std::int64_t microseconds) {
    observe(name, l, microseconds);
  }

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
    histogram_layout layout = seconds_layout;  // histograms
    mutable std::mutex mu;
    std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> counters;  // by label text
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family* find(const std::string& name, kind k) const;
  family& declare(const std::string& name, kind k, const std::string& help,
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
