#include "server/udp_listener.h"

#include <sys/socket.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "server/log.h"

namespace npsd::server {

namespace asio = boost::asio;
using asio::ip::udp;

udp_listener::udp_listener(asio::io_context& io, const policy::listener_config& cfg,
                           on_datagram handler, counters& c)
    : kind_(cfg.kind),
      io_(io),
      strand_(asio::make_strand(io)),
      socket_(io),
      handler_(std::move(handler)),
      counters_(c) {
  const udp::endpoint ep(asio::ip::make_address(cfg.address), cfg.port);
  socket_.open(ep.protocol());
  if (ep.address().is_v6()) socket_.set_option(asio::ip::v6_only(true));
  socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
  socket_.bind(ep);
  socket_.non_blocking(true);
}

void udp_listener::start() {
  asio::post(strand_, [this] { receive(); });
}

void udp_listener::stop() {
  asio::post(strand_, [this] {
    stopped_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
}

void udp_listener::receive() {
  if (stopped_) return;
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_,
      asio::bind_executor(strand_, [this](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || stopped_) return;
        if (!ec) {
          datagram d;
          d.kind = kind_;
          const auto a = sender_.address();
          d.address = a.is_v4() ? policy::ip_address::from_v4(a.to_v4().to_uint())
                                : policy::ip_address::from_v6(a.to_v6().to_bytes());
          d.port = sender_.port();
          d.data.assign(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
          asio::post(io_, [this, to = sender_, d = std::move(d)]() mutable {
            handler_(std::move(d), [this, to](const radius::bytes& reply) { send(to, reply); });
          });
        } else {
          log_event(spdlog::level::warn, "receive error", {{"error", ec.message()}});
        }
        receive();
      }));
}

void udp_listener::send(const udp::endpoint& to, const radius::bytes& data) {
  const auto rc = ::sendto(socket_.native_handle(), data.data(), data.size(), MSG_DONTWAIT,
                           to.data(), static_cast<socklen_t>(to.size()));
  if (rc < 0) counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace npsd::server
