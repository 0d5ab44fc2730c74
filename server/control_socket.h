#pragma once
// The administrator's channel to the running daemon: a Unix stream socket (mode 0600) where
// npsctl writes one JSON request line ({"command":"reload"}) and reads one JSON reply line.
#include <filesystem>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

namespace npsd::server {

class control_socket {
 public:
  using handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  // Binds at once. A stale socket file is replaced; one where a live process answers is an
  // error (std::runtime_error with the reason).
  control_socket(boost::asio::io_context& io, std::filesystem::path path, handler h);
  ~control_socket();
  control_socket(const control_socket&) = delete;
  control_socket& operator=(const control_socket&) = delete;

  void start();
  void stop();

 private:
  struct session;
  void accept();

  boost::asio::io_context& io_;
  std::filesystem::path path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  handler handler_;
};

}  // namespace npsd::server
