#pragma once
// One bound UDP socket: a receive loop on a strand hands each datagram to the pipeline, posted
// to the io_context so that processing runs on every io thread. Replies are sent with a
// non-blocking sendto on the socket descriptor, safe from any thread.
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "policy/config.h"
#include "server/request_handler.h"

namespace npsd::server {

class udp_listener {
 public:
  using on_datagram = std::function<void(datagram, reply_sink)>;

  // Binds at once; throws boost::system::system_error when the address cannot be bound.
  udp_listener(boost::asio::io_context& io, const policy::listener_config& cfg,
               on_datagram handler, counters& c);

  void start();
  void stop();  // no more receives; the socket stays open for replies still in flight
  boost::asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  policy::listener_kind kind() const noexcept { return kind_; }

 private:
  void receive();
  void drain();  // the datagrams queued on the socket, by recvmmsg()
  void deliver(const boost::asio::ip::udp::endpoint& to, const std::uint8_t* data, std::size_t n);
  void send(const boost::asio::ip::udp::endpoint& to, const radius::bytes& data);

  policy::listener_kind kind_;
  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::udp::socket socket_;
  static constexpr std::size_t batch = 32;  // datagrams per recvmmsg()
  boost::asio::ip::udp::endpoint sender_;
  std::vector<std::array<std::uint8_t, radius::max_packet_size>> buffers_ =
      std::vector<std::array<std::uint8_t, radius::max_packet_size>>(batch);
  on_datagram handler_;
  counters& counters_;
  bool stopped_ = false;
};

}  // namespace npsd::server
