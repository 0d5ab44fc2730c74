#include "server/udp_listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

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
  // One datagram through Asio (a speculative receive, so a readiness edge is never missed),
  // then recvmmsg() takes what has queued behind it: one reactor wake-up per burst.
  socket_.async_receive_from(
      asio::buffer(buffers_[0]), sender_,
      asio::bind_executor(strand_, [this](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || stopped_) return;
        if (ec) {
          log_event(spdlog::level::warn, "receive error", {{"error", ec.message()}});
        } else {
          deliver(sender_, buffers_[0].data(), n);
          drain();
        }
        receive();
      }));
}

void udp_listener::deliver(const udp::endpoint& to, const std::uint8_t* data, std::size_t n) {
  datagram d;
  d.kind = kind_;
  const auto a = to.address();
  d.address = a.is_v4() ? policy::ip_address::from_v4(a.to_v4().to_uint())
                        : policy::ip_address::from_v6(a.to_v6().to_bytes());
  d.port = to.port();
  d.data.assign(data, data + n);
  asio::post(io_, [this, to, d = std::move(d)]() mutable {
    handler_(std::move(d), [this, to](const radius::bytes& reply) { send(to, reply); });
  });
}

void udp_listener::drain() {
  // At most a few batches per wake-up, so that one busy socket does not starve the others.
  for (int round = 0; round < 4; ++round) {
    std::array<mmsghdr, batch> msg{};
    std::array<iovec, batch> iov{};
    std::array<sockaddr_storage, batch> from{};
    for (std::size_t i = 0; i < batch; ++i) {
      iov[i] = {buffers_[i].data(), buffers_[i].size()};
      msg[i].msg_hdr.msg_iov = &iov[i];
      msg[i].msg_hdr.msg_iovlen = 1;
      msg[i].msg_hdr.msg_name = &from[i];
      msg[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int n = ::recvmmsg(socket_.native_handle(), msg.data(), batch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        log_event(spdlog::level::warn, "receive error", {{"error", std::strerror(errno)}});
      return;
    }
    for (int i = 0; i < n; ++i) {
      udp::endpoint to;
      const auto len = std::min<std::size_t>(msg[i].msg_hdr.msg_namelen, to.capacity());
      std::memcpy(to.data(), &from[i], len);
      to.resize(len);
      deliver(to, buffers_[i].data(), msg[i].msg_len);
    }
    if (static_cast<std::size_t>(n) < batch) return;
  }
}

void udp_listener::send(const udp::endpoint& to, const radius::bytes& data) {
  const auto rc = ::sendto(socket_.native_handle(), data.data(), data.size(), MSG_DONTWAIT,
                           to.data(), static_cast<socklen_t>(to.size()));
  if (rc < 0) counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace npsd::server
