#include "server/metrics.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using npsd::server::escape_label_value;
using npsd::server::histogram;
using npsd::server::metrics;

TEST_CASE("metrics: label values escape backslash, double quote and line feed, nothing else") {
  CHECK(escape_label_value(R"(a\b"c)") == R"(a\\b\"c)");
  CHECK(escape_label_value("two\nlines") == "two\\nlines");
  CHECK(escape_label_value("tab\tand {braces}=,") == "tab\tand {braces}=,");
}

TEST_CASE("metrics: counters render with HELP, TYPE and their labels in order") {
  metrics m;
  m.declare_counter("npsd_requests_total", "RADIUS requests by client, type and result");
  m.add("npsd_requests_total", {{"client", "rras1"}, {"type", "Access-Request"}, {"result", "Access-Accept"}});
  m.add("npsd_requests_total", {{"client", "rras1"}, {"type", "Access-Request"}, {"result", "Access-Accept"}}, 2);
  m.add("npsd_requests_total", {{"client", "sw\"1"}, {"type", "Access-Request"}, {"result", "Access-Reject"}});
  CHECK(m.counter_value("npsd_requests_total",
                        {{"client", "rras1"}, {"type", "Access-Request"}, {"result", "Access-Accept"}}) == 3);
  CHECK(m.counter_value("npsd_requests_total", {{"client", "none"}}) == 0);
  const auto text = m.render();
  CHECK(text.find("# HELP npsd_requests_total RADIUS requests by client, type and result\n"
                  "# TYPE npsd_requests_total counter\n"
                  "npsd_requests_total{client=\"rras1\",type=\"Access-Request\",result=\"Access-Accept\"} 3\n"
                  "npsd_requests_total{client=\"sw\\\"1\",type=\"Access-Request\",result=\"Access-Reject\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("npsd_metrics_series_dropped_total 0\n") != std::string::npos);
}

TEST_CASE("metrics: a histogram's buckets are cumulative, end in +Inf, and agree with the count") {
  metrics m;
  m.declare_histogram("npsd_authentication_seconds", "time to decide, by method");
  for (const std::int64_t us : {100, 500, 501, 3'000, 2'000'000, 60'000'000})
    m.observe_us("npsd_authentication_seconds", {{"method", "PAP"}}, us);
  const auto text = m.render();
  const std::string p = "npsd_authentication_seconds_bucket{method=\"PAP\",le=";
  CHECK(text.find(p + "\"0.0005\"} 2\n") != std::string::npos);  // 100 and exactly 500 µs
  CHECK(text.find(p + "\"0.001\"} 3\n") != std::string::npos);
  CHECK(text.find(p + "\"0.0025\"} 3\n") != std::string::npos);
  CHECK(text.find(p + "\"0.005\"} 4\n") != std::string::npos);
  CHECK(text.find(p + "\"2.5\"} 5\n") != std::string::npos);
  CHECK(text.find(p + "\"10\"} 5\n") != std::string::npos);
  CHECK(text.find(p + "\"+Inf\"} 6\n") != std::string::npos);
  CHECK(text.find("npsd_authentication_seconds_count{method=\"PAP\"} 6\n") != std::string::npos);
  CHECK(text.find("npsd_authentication_seconds_sum{method=\"PAP\"} 62.004101\n") != std::string::npos);
}

TEST_CASE("metrics: a sizes histogram has its own bounds and sums the sizes as they are") {
  metrics m;
  m.declare_histogram("npsd_accounting_batch_size", "records per transaction",
                      npsd::server::sizes_layout);
  m.declare_histogram("d_seconds", "durations");
  for (const std::int64_t n : {1, 2, 3, 50, 7000}) m.observe("npsd_accounting_batch_size", {}, n);
  m.observe("d_seconds", {}, 2);  // two microseconds
  const auto text = m.render();
  const std::string p = "npsd_accounting_batch_size_bucket{le=";
  CHECK(text.find(p + "\"1\"} 1\n") != std::string::npos);
  CHECK(text.find(p + "\"2\"} 2\n") != std::string::npos);
  CHECK(text.find(p + "\"5\"} 3\n") != std::string::npos);
  CHECK(text.find(p + "\"50\"} 4\n") != std::string::npos);
  CHECK(text.find(p + "\"5000\"} 4\n") != std::string::npos);
  CHECK(text.find(p + "\"+Inf\"} 5\n") != std::string::npos);
  CHECK(text.find("npsd_accounting_batch_size_sum 7056\n") != std::string::npos);
  CHECK(text.find("npsd_accounting_batch_size_count 5\n") != std::string::npos);
  CHECK(text.find("d_seconds_bucket{le=\"0.0005\"} 1\n") != std::string::npos);
  CHECK(text.find("d_seconds_sum 2e-06\n") != std::string::npos);
  CHECK(text.find("npsd_accounting_batch_size_bucket{le=\"0.0005\"}") == std::string::npos);
}

TEST_CASE("metrics: gauges are read when rendered") {
  metrics m;
  int depth = 3;
  m.declare_gauge("npsd_accounting_queue_depth", "records waiting", [&] { return double(depth); });
  CHECK(m.render().find("npsd_accounting_queue_depth 3\n") != std::string::npos);
  depth = 7;
  CHECK(m.render().find("npsd_accounting_queue_depth 7\n") != std::string::npos);
}

TEST_CASE("metrics: label combinations past the limit are dropped and counted, not stored") {
  metrics m(4);
  m.declare_counter("npsd_requests_total", "x");
  for (int i = 0; i < 10; ++i) m.add("npsd_requests_total", {{"client", std::to_string(i)}});
  m.add("npsd_requests_total", {{"client", "0"}});  // an existing series still counts
  CHECK(m.counter_value("npsd_requests_total", {{"client", "0"}}) == 2);
  CHECK(m.counter_value("npsd_requests_total", {{"client", "9"}}) == 0);
  CHECK(m.series_dropped() == 6);
  CHECK(m.render().find("npsd_metrics_series_dropped_total 6\n") != std::string::npos);
}

TEST_CASE("metrics: an undeclared name, or one declared as another type, is a programming error") {
  metrics m;
  m.declare_counter("a_total", "x");
  CHECK_THROWS_AS(m.add("b_total", {}), std::logic_error);
  CHECK_THROWS_AS(m.observe_us("a_total", {}, 1), std::logic_error);
  CHECK_THROWS_AS(m.declare_histogram("a_total", "x"), std::logic_error);
  CHECK_NOTHROW(m.declare_counter("a_total", "x"));  // the same declaration again is fine
}

TEST_CASE("metrics: updates from many threads are all counted") {
  metrics m;
  m.declare_counter("n_total", "x");
  m.declare_histogram("d_seconds", "x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 10'000; ++i) {
        m.add("n_total", {{"t", std::to_string(i % 3)}});
        m.observe_us("d_seconds", {}, t * 1000 + i % 7);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(m.counter_value("n_total", {{"t", "0"}}) + m.counter_value("n_total", {{"t", "1"}}) +
            m.counter_value("n_total", {{"t", "2"}}) == 40'000);
  CHECK(m.render().find("d_seconds_count 40000\n") != std::string::npos);
}
