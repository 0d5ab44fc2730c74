#include "server/metrics_endpoint.h"

#include <atomic>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace npsd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct metrics_endpoint::state {
  asio::io_context& io;
  tcp::acceptor acceptor;
  std::function<std::string()> render;
  std::size_t max_connections;
  std::atomic<std::size_t> active{0};

  state(asio::io_context& i, std::function<std::string()> r, std::size_t max)
      : io(i), acceptor(asio::make_strand(i)), render(std::move(r)), max_connections(max) {}
};

namespace {

constexpr auto exchange_deadline = std::chrono::seconds(5);
constexpr std::uint32_t header_limit = 8 * 1024;

class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<metrics_endpoint::state> s, tcp::socket sock)
      : s_(std::move(s)), stream_(std::move(sock)) {
    s_->active.fetch_add(1);
  }
  ~session() { s_->active.fetch_sub(1); }

  void start() {
    parser_.header_limit(header_limit);
    parser_.body_limit(0);
    stream_.expires_after(exchange_deadline);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const auto& req = parser_.get();
    res_.version(req.version());
    res_.keep_alive(false);
    res_.set(http::field::server, "npsd");
    const auto target = req.target();
    const bool metrics_path = target == "/metrics" || target.starts_with("/metrics?");
    if (!metrics_path) {
      res_.result(http::status::not_found);
      res_.set(http::field::content_type, "text/plain; charset=utf-8");
      res_.body() = "npsd serves its metrics at /metrics\n";
    } else if (req.method() != http::verb::get) {
      res_.result(http::status::method_not_allowed);
      res_.set(http::field::allow, "GET");
      res_.set(http::field::content_type, "text/plain; charset=utf-8");
      res_.body() = "only GET\n";
    } else {
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res_.body() = s_->render();
    }
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  std::shared_ptr<metrics_endpoint::state> s_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> res_;
};

void accept_next(std::shared_ptr<metrics_endpoint::state> s) {
  s->acceptor.async_accept(asio::make_strand(s->io), [s](beast::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !s->acceptor.is_open()) return;
    if (!ec) {
      if (s->active.load() >= s->max_connections) {
        beast::error_code ignored;
        sock.close(ignored);  // over the limit: closed unread
      } else {
        std::make_shared<session>(s, std::move(sock))->start();
      }
    }
    accept_next(s);
  });
}

}  // namespace

metrics_endpoint::metrics_endpoint(asio::io_context& io, const policy::metrics_config& cfg,
                                   std::function<std::string()> render)
    : s_(std::make_shared<state>(io, std::move(render), cfg.max_connections)) {
  const tcp::endpoint ep(asio::ip::make_address(cfg.address), cfg.port);
  s_->acceptor.open(ep.protocol());
  s_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  s_->acceptor.bind(ep);
  s_->acceptor.listen(asio::socket_base::max_listen_connections);
  local_ = s_->acceptor.local_endpoint();
  // Started on the acceptor's strand, where every later use of it runs.
  asio::post(s_->acceptor.get_executor(), [s = s_] { accept_next(s); });
}

metrics_endpoint::~metrics_endpoint() { stop(); }

void metrics_endpoint::stop() {
  asio::post(s_->acceptor.get_executor(), [s = s_] {
    beast::error_code ignored;
    s->acceptor.close(ignored);
  });
}

}  // namespace npsd::server
