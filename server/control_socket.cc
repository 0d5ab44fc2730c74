#include "server/control_socket.h"

#include <sys/stat.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "server/log.h"

namespace npsd::server {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {
constexpr std::size_t max_request = 64 * 1024;
constexpr auto session_timeout = std::chrono::seconds(30);
}  // namespace

struct control_socket::session : std::enable_shared_from_this<session> {
  stream_protocol::socket socket;
  asio::streambuf buffer{max_request};
  asio::steady_timer timer;
  std::string reply;
  handler& h;

  session(stream_protocol::socket s, handler& hh)
      : socket(std::move(s)), timer(socket.get_executor()), h(hh) {}

  void start() {
    auto self = shared_from_this();
    timer.expires_after(session_timeout);
    timer.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->socket.close();
    });
    asio::async_read_until(socket, buffer, '\n',
                           [self](boost::system::error_code ec, std::size_t n) {
                             self->on_line(ec, n);
                           });
  }

  void on_line(boost::system::error_code ec, std::size_t n) {
    if (ec) {
      timer.cancel();
      return;
    }
    std::string line(asio::buffers_begin(buffer.data()),
                     asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n));
    nlohmann::json answer;
    try {
      answer = h(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      answer = {{"ok", false}, {"error", "the request is not one line of JSON"}};
    } catch (const std::exception& e) {
      answer = {{"ok", false}, {"error", e.what()}};
    }
    reply = answer.dump() + "\n";
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(reply), [self](boost::system::error_code, std::size_t) {
      self->timer.cancel();
      boost::system::error_code ignored;
      self->socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
      self->socket.close(ignored);
    });
  }
};

control_socket::control_socket(asio::io_context& io, std::filesystem::path path, handler h)
    : io_(io), path_(std::move(path)), acceptor_(io), handler_(std::move(h)) {
  const stream_protocol::endpoint ep(path_.string());
  if (std::filesystem::exists(std::filesystem::symlink_status(path_))) {
    stream_protocol::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(ep, ec);
    if (!ec)
      throw std::runtime_error("another process already answers on " + path_.string());
    std::filesystem::remove(path_);
  }
  acceptor_.open(ep.protocol());
  acceptor_.bind(ep);
  ::chmod(path_.c_str(), 0600);  // it can reload the server: the owner only
  acceptor_.listen(8);
}

control_socket::~control_socket() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void control_socket::start() { accept(); }

void control_socket::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void control_socket::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<session>(std::move(s), handler_)->start();
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace npsd::server
