#pragma once
// The Prometheus scrape endpoint: HTTP/1.1 GET /metrics on a TCP listener (Boost.Beast), one
// request per connection, each answered from `render` on the io threads. Bounded: at most
// `max_connections` at once (more are closed unread), 8 KiB of request header, no body, and
// 5 seconds for the whole exchange.
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "policy/config.h"

namespace npsd::server {

class metrics_endpoint {
 public:
  // Binds and starts accepting; throws boost::system::system_error when it cannot bind.
  metrics_endpoint(boost::asio::io_context& io, const policy::metrics_config& cfg,
                   std::function<std::string()> render);
  ~metrics_endpoint();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
  // Stops accepting (scrapes in progress finish). Safe from any thread.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> s_;
  boost::asio::ip::tcp::endpoint local_;
};

}  // namespace npsd::server
