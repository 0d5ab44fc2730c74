#include "server/control_socket.h"

#include <sys/stat.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
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
      boost::system::error_code ignored;
      if (!ec) self->socket.close(ignored);
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
    // Messages may quote paths, which need not be UTF-8: replaced, never a throw (an exception
    // here would leave io_context::run and stop the daemon).
    reply = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
    : io_(io), path_(std::move(path)), acceptor_(asio::make_strand(io)), handler_(std::move(h)) {
  const stream_protocol::endpoint ep(path_.string());
  const auto status = std::filesystem::symlink_status(path_);
  if (std::filesystem::exists(status)) {
    // Only a socket left behind is replaced: a mistyped path must not delete a file.
    if (!std::filesystem::is_socket(status))
      throw std::runtime_error(path_.string() + " exists and is not a socket");
    stream_protocol::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(ep, ec);
    if (!ec)
      throw std::runtime_error("another process already answers on " + path_.string());
    std::filesystem::remove(path_);
  }
  acceptor_.open(ep.protocol());
  // It can reload the server: the owner only. On Linux the mode of the socket before bind is
  // the mode the file is created with, so there is no moment when others may connect.
  ::fchmod(acceptor_.native_handle(), 0600);
  acceptor_.bind(ep);
  ::chmod(path_.c_str(), 0600);
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
  // On the acceptor's strand: an accept may be completing on another io thread.
  asio::dispatch(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

void control_socket::accept() {
  // Each session on a strand of its own: its timer and its socket's handlers may otherwise
  // run at the same time on two io threads, and both touch the socket.
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec,
                                                        stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<session>(std::move(s), handler_)->start();
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace npsd::server
