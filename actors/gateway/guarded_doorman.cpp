#include "actors/gateway/guarded_doorman.hpp"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <caf/io/network/acceptor.hpp>
#include <caf/io/network/default_multiplexer.hpp>

#include "runtime/listen_socket.hpp"

namespace expd {

namespace {

namespace net = caf::io::network;

// The accept policy of net::acceptor: accepts, and sheds what it cannot accept.
class guarded_accept {
public:
  guarded_accept(std::shared_ptr<accept_guard> guard, std::string answer)
    : guard_(std::move(guard)), answer_(std::move(answer)) {}

  bool try_accept(net::native_socket& result, net::native_socket fd) {
    result = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (result >= 0) {
      // The gateway writes each reply as it is ready: pipelined replies must not wait
      // for the client's ACK of the one before (Nagle against delayed ACK, 40 ms).
      int one = 1;
      setsockopt(result, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return true;
    }
    result = net::invalid_native_socket;
    if (errno == EMFILE || errno == ENFILE) {
      ++guard_->shed;
      exhausted = !reserve_.shed(fd, answer_);
    }
    return true;
  }

  bool exhausted = false;

private:
  std::shared_ptr<accept_guard> guard_;
  std::string answer_;
  runtime::descriptor_reserve reserve_;
};

class guarded_acceptor : public net::acceptor {
public:
  guarded_acceptor(net::default_multiplexer& mpx, net::native_socket fd,
                   std::shared_ptr<accept_guard> guard, std::string answer)
    : acceptor(mpx, fd), guard_(guard), policy_(std::move(guard), std::move(answer)) {}

  void handle_event(net::operation op) override {
    handle_event_impl(op, policy_);
    if (policy_.exhausted) {
      // Retrying now would spin as before; descriptors come back as connections close.
      policy_.exhausted = false;
      guard_->paused = true;
      passivate();
    }
  }

private:
  std::shared_ptr<accept_guard> guard_;
  guarded_accept policy_;
};

// CAF 0.17's network::doorman_impl with the guarded acceptor in place of its own.
class guarded_doorman : public caf::io::doorman {
public:
  guarded_doorman(net::default_multiplexer& mpx, net::native_socket fd,
                  std::shared_ptr<accept_guard> guard, std::string answer)
    : doorman(net::accept_hdl_from_socket(fd)),
      acceptor_(mpx, fd, std::move(guard), std::move(answer)) {}

  bool new_connection() override {
    if (detached()) // closed by the broker while the poll set still held an event
      return false;
    auto& mpx = acceptor_.backend();
    auto scribe = mpx.new_scribe(acceptor_.accepted_socket());
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

  void graceful_shutdown() override {
    acceptor_.graceful_shutdown();
    detach(&acceptor_.backend(), false);
  }

  void launch() override { acceptor_.start(this); }

  std::string addr() const override {
    auto x = net::local_addr_of_fd(acceptor_.fd());
    return x ? std::move(*x) : std::string{};
  }

  std::uint16_t port() const override {
    auto x = net::local_port_of_fd(acceptor_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override { acceptor_.activate(this); }

  void remove_from_loop() override { acceptor_.passivate(); }

private:
  guarded_acceptor acceptor_;
};

} // namespace

caf::io::doorman_ptr make_guarded_doorman(caf::io::abstract_broker* broker, int listen_fd,
                                          std::shared_ptr<accept_guard> guard,
                                          std::string answer) {
  // expd runs CAF's default (epoll) multiplexer; any other would fail here, at start.
  auto& mpx = dynamic_cast<net::default_multiplexer&>(broker->backend());
  return caf::make_counted<guarded_doorman>(mpx, listen_fd, std::move(guard), std::move(answer));
}

} // namespace expd
