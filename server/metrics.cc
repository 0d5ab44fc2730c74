#include "server/metrics.h"

#include <fmt/format.h>

#include <stdexcept>

namespace npsd::server {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string label_text(const metrics::labels& l) {
  if (l.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : l) {
    if (out.size() > 1) out += ',';
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  out += '}';
  return out;
}

histogram::histogram(histogram_layout layout)
    : layout_(layout),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(layout.bounds.size() + 1)) {}

void histogram::observe(std::int64_t units) noexcept {
  if (units < 0) units = 0;
  const double v = static_cast<double>(units) / layout_.divisor;
  std::size_t i = 0;
  while (i < layout_.bounds.size() && v > layout_.bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<std::uint64_t>(units), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::buckets() const {
  std::vector<std::uint64_t> out(layout_.bounds.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

metrics::family& metrics::declare(const std::string& name, kind k, const std::string& help,
                                  std::function<double()> read) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  if (f) {
    if (f->k != k) throw std::logic_error("metric " + name + " declared twice with two types");
    return *f;
  }
  f = std::make_unique<family>();
  f->k = k;
  f->help = help;
  f->read = std::move(read);
  return *f;
}

void metrics::declare_counter(const std::string& name, const std::string& help) {
  declare(name, kind::counter, help, {});
}
void metrics::declare_histogram(const std::string& name, const std::string& help,
                                histogram_layout layout) {
  auto& f = declare(name, kind::histogram, help, {});
  std::lock_guard lock(f.mu);
  if (f.histograms.empty()) f.layout = layout;
}
void metrics::declare_gauge(const std::string& name, const std::string& help,
                            std::function<double()> read) {
  declare(name, kind::gauge, help, std::move(read));
}

metrics::family* metrics::find(const std::string& name, kind k) const {
  std::lock_guard lock(mu_);
  const auto it = families_.find(name);
  if (it == families_.end() || it->second->k != k)
    throw std::logic_error("metric " + name + " was not declared as this type");
  return it->second.get();
}

namespace {

// The series for `key` in a family's map, made on first use unless the family already holds
// `max` of them (then null, and the drop counted).
template <typename Map, typename Make>
typename Map::mapped_type::element_type* series(Map& m, const std::string& key, std::size_t max,
                                                std::atomic<std::uint64_t>& dropped, Make make) {
  auto it = m.find(key);
  if (it == m.end()) {
    if (m.size() >= max) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    it = m.emplace(key, make()).first;
  }
  return it->second.get();
}

}  // namespace

void metrics::add(const std::string& name, const labels& l, std::uint64_t n) {
  family* f = find(name, kind::counter);
  const auto key = label_text(l);
  std::lock_guard lock(f->mu);
  if (auto* c = series(f->counters, key, max_series_, dropped_,
                       [] { return std::make_unique<std::atomic<std::uint64_t>>(0); }))
    c->fetch_add(n, std::memory_order_relaxed);
}

void metrics::observe(const std::string& name, const labels& l, std::int64_t units) {
  family* f = find(name, kind::histogram);
  const auto key = label_text(l);
  std::lock_guard lock(f->mu);
  if (auto* h = series(f->histograms, key, max_series_, dropped_,
                       [f] { return std::make_unique<histogram>(f->layout); }))
    h->observe(units);
}

std::uint64_t metrics::counter_value(const std::string& name, const labels& l) const {
  family* f = find(name, kind::counter);
  std::lock_guard lock(f->mu);
  const auto it = f->counters.find(label_text(l));
  return it == f->counters.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

void append_family(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type,
                   const std::vector<std::pair<metrics::labels, double>>& samples) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  for (const auto& [l, v] : samples) out += fmt::format("{}{} {}\n", name, label_text(l), v);
}

namespace {

// A label set's text with one more label appended: {a="x"} + le="0.5" -> {a="x",le="0.5"}.
std::string with_label(const std::string& key, std::string_view extra) {
  if (key.empty()) return fmt::format("{{{}}}", extra);
  return fmt::format("{},{}}}", std::string_view(key).substr(0, key.size() - 1), extra);
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::string metrics::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    const char* type = f->k == kind::counter ? "counter" : f->k == kind::histogram ? "histogram" : "gauge";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f->help, name, type);
    if (f->k == kind::gauge) {
      out += fmt::format("{} {}\n", name, number(f->read ? f->read() : 0));
      continue;
    }
    std::lock_guard family_lock(f->mu);
    for (const auto& [key, v] : f->counters)
      out += fmt::format("{}{} {}\n", name, key, v->load(std::memory_order_relaxed));
    for (const auto& [key, h] : f->histograms) {
      const auto b = h->buckets();
      const auto& layout = h->layout();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < layout.bounds.size(); ++i) {
        cumulative += b[i];
        out += fmt::format("{}_bucket{} {}\n", name,
                           with_label(key, fmt::format("le=\"{}\"", number(layout.bounds[i]))),
                           cumulative);
      }
      cumulative += b.back();
      out += fmt::format("{}_bucket{} {}\n", name, with_label(key, "le=\"+Inf\""), cumulative);
      out += fmt::format("{}_sum{} {}\n", name, key, number(static_cast<double>(h->sum()) / layout.divisor));
      // the count as the +Inf bucket: the two agree even while requests are observed
      out += fmt::format("{}_count{} {}\n", name, key, cumulative);
    }
  }
  out += fmt::format(
      "# HELP npsd_metrics_series_dropped_total label combinations not recorded: past the "
      "limit of {} per family\n# TYPE npsd_metrics_series_dropped_total counter\n"
      "npsd_metrics_series_dropped_total {}\n",
      max_series_, dropped_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace npsd::server
