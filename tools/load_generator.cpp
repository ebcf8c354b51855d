#include "tools/load_generator.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <deque>
#include <memory>
#include <queue>
#include <random>
#include <thread>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli_errors.hpp"
#include "tools/http_response_reader.hpp"
#include "tools/unit_sampler.hpp"

namespace expd::tools {

void load_errors::add(const load_errors& o) {
  connect_refused += o.connect_refused;
  connect_failed += o.connect_failed;
  timeouts += o.timeouts;
  closed += o.closed;
  malformed += o.malformed;
  other += o.other;
}

std::uint64_t server_counts::succeeded() const {
  std::uint64_t n = 0;
  for (auto [status, count] : statuses)
    n += status >= 200 && status < 300 ? count : 0;
  return n;
}

void server_counts::add(const server_counts& o) {
  sent += o.sent;
  completed += o.completed;
  for (auto [status, count] : o.statuses)
    statuses[status] += count;
  errors.add(o.errors);
}

server_counts load_result::total() const {
  server_counts sum;
  for (const server_counts& s : servers)
    sum.add(s);
  return sum;
}

namespace {

constexpr std::int64_t reconnect_backoff_ns = 100'000'000;
constexpr std::int64_t sweep_interval_ns = 10'000'000;
constexpr std::uint64_t timer_tag = UINT64_MAX;

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A JSON string's text without its quotes.
std::string json_text(const std::string& text) {
  std::string quoted = nlohmann::json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// One server's request, rendered once but for the unit id's digits and the
// Content-Length that follows from them.
struct request_template {
  std::string head; // up to "Content-Length: "
  std::string body_start;
  std::string body_end;

  request_template(const load_config& config, const server_address& server) {
    head = "POST /v1/assign HTTP/1.1\r\nHost: " + server.host_header
           + "\r\nUser-Agent: expctl-load\r\nContent-Type: application/json\r\n";
    if (!config.token.empty())
      head += "Authorization: Bearer " + config.token + "\r\n";
    head += "Content-Length: ";
    body_start = R"({"unit_type":")" + json_text(config.unit_type) + R"(","unit_id":")"
                 + json_text(config.unit_type) + "-";
    body_end = R"(","context":)" + config.context;
    if (!config.experiments.empty())
      body_end += R"(,"requested_experiments":)" + nlohmann::json(config.experiments).dump();
    body_end += "}";
  }

  void render(std::uint64_t rank, std::string& out) const {
    char digits[24], length[24];
    int digit_count = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(rank));
    std::size_t body = body_start.size() + static_cast<std::size_t>(digit_count) + body_end.size();
    int length_count = std::snprintf(length, sizeof length, "%zu", body);
    out.clear();
    out.append(head).append(length, static_cast<std::size_t>(length_count)).append("\r\n\r\n");
    out.append(body_start).append(digits, static_cast<std::size_t>(digit_count)).append(body_end);
  }
};

struct resolved_server {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
};

resolved_server resolve(const server_address& server) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(server.host.c_str(), server.port.c_str(), &hints, &found); rc != 0)
    throw unreachable_error("cannot resolve " + server.url + ": " + gai_strerror(rc));
  resolved_server r;
  std::memcpy(&r.address, found->ai_addr, found->ai_addrlen);
  r.length = found->ai_addrlen;
  r.family = found->ai_family;
  freeaddrinfo(found);
  return r;
}

enum class conn_state { down, connecting, idle, busy };

struct connection {
  std::size_t index = 0; // among all connections: the open loop's pace and the server
  std::size_t server = 0;
  int fd = -1;
  conn_state state = conn_state::down;
  std::uint64_t generation = 0; // bumped on every change a pending timer must not outlive
  bool watching_out = false;    // EPOLLOUT registered
  bool queued_idle = false;     // in the closed loop's idle queue
  std::string out;
  std::size_t out_at = 0;
  http_response_reader reader;
  std::int64_t started_at = 0; // of the connect or the send, for timeouts
  std::int64_t due = 0;        // what latency counts from
  bool measured = false;
  std::uint64_t next = 0; // open loop: the next request's number on this connection
};

struct timer {
  std::int64_t at;
  std::size_t conn;
  std::uint64_t generation;
  bool operator>(const timer& o) const {
    return at > o.at;
  }
};

// One thread's share of the connections and of the concurrency, and its event loop.
class worker {
public:
  worker(const load_config& config, const std::vector<request_template>& templates,
         const std::vector<resolved_server>& servers, std::size_t thread, std::int64_t start)
    : config_(config), templates_(templates), servers_(servers),
      rng_(config.seed + 0x9E3779B97F4A7C15ull * thread), zipf_(config.units, config.zipf_s),
      counts_(servers.size()), start_(start), warm_end_(start + config.warmup.count()),
      end_(warm_end_ + config.duration.count()), read_buffer_(64 * 1024) {
    for (std::size_t k = thread; k < config.connections; k += config.threads) {
      connection c;
      c.index = k;
      c.server = k % servers.size();
      conns_.push_back(std::move(c));
    }
    if (config.concurrency) {
      std::size_t c = *config.concurrency, t = config.threads;
      tokens_ = c / t + (thread < c % t ? 1 : 0);
    } else {
      schedule_ = open_loop_schedule{*config.rate, config.connections};
    }
  }

  ~worker() {
    for (connection& c : conns_)
      if (c.fd >= 0)
        ::close(c.fd);
    if (timer_fd_ >= 0)
      ::close(timer_fd_);
    if (epoll_fd_ >= 0)
      ::close(epoll_fd_);
  }

  void run() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_fd_ < 0 || timer_fd_ < 0)
      throw std::runtime_error(std::string("epoll or timerfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = timer_tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
    std::int64_t now = now_ns();
    for (std::size_t i = 0; i < conns_.size(); ++i)
      connect(i, now);
    std::int64_t last_sweep = now;
    std::vector<epoll_event> events(512);
    for (;;) {
      now = now_ns();
      if (now >= end_ && (in_flight_ == 0 || now >= end_ + config_.timeout.count()))
        break;
      fire_timers(now);
      if (now - last_sweep >= sweep_interval_ns) {
        sweep(now);
        last_sweep = now;
      }
      arm_timer();
      int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 10);
      if (n < 0 && errno != EINTR)
        throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == timer_tag) {
          std::uint64_t expirations;
          [[maybe_unused]] auto ignored = ::read(timer_fd_, &expirations, sizeof expirations);
          armed_ = INT64_MAX;
        } else {
          on_event(static_cast<std::size_t>(events[i].data.u64), events[i].events);
        }
      }
    }
    // What is still out has had its --timeout since the window closed.
    for (connection& c : conns_)
      if (c.state == conn_state::busy && c.measured)
        ++counts_[c.server].errors.timeouts;
  }

  const std::vector<server_counts>& counts() const noexcept {
    return counts_;
  }
  const latency_histogram& latency() const noexcept {
    return latency_;
  }
  bool connected_once() const noexcept {
    return connected_once_;
  }

private:
  bool in_window(std::int64_t t) const {
    return t >= warm_end_ && t < end_;
  }

  void watch(connection& c, bool out, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
    epoll_ctl(epoll_fd_, op, c.fd, &ev);
    c.watching_out = out;
  }

  void connect(std::size_t i, std::int64_t now) {
    connection& c = conns_[i];
    const resolved_server& server = servers_[c.server];
    c.fd = ::socket(server.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      connect_failed(c, errno, now);
      return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.started_at = now;
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&server.address), server.length);
    if (rc != 0 && errno != EINPROGRESS) {
      connect_failed(c, errno, now);
      return;
    }
    c.state = conn_state::connecting;
    watch(c, true, EPOLL_CTL_ADD);
    if (rc == 0)
      connected(c, now);
  }

  void connect_failed(connection& c, int error, std::int64_t now) {
    if (in_window(now))
      ++(error == ECONNREFUSED ? counts_[c.server].errors.connect_refused : counts_[c.server].errors.connect_failed);
    close(c);
    if (now + reconnect_backoff_ns < end_)
      timers_.push({now + reconnect_backoff_ns, static_cast<std::size_t>(&c - conns_.data()), c.generation});
  }

  void connected(connection& c, std::int64_t now) {
    connected_once_ = true;
    c.state = conn_state::idle;
    watch(c, false, EPOLL_CTL_MOD);
    idle(c, now);
  }

  // Closes the socket; a request that was out is given up (its error counted by the
  // caller) and its closed-loop slot freed.
  void close(connection& c) {
    if (c.fd >= 0)
      ::close(c.fd);
    c.fd = -1;
    if (c.state == conn_state::busy) {
      if (c.measured)
        --in_flight_;
      if (config_.concurrency)
        ++tokens_;
    }
    c.state = conn_state::down;
    c.reader.reset();
    ++c.generation;
  }

  // Gives up the connection and connects again at once, counting `error` if the
  // request on it was measured.
  void drop(connection& c, std::uint64_t load_errors::*error, std::int64_t now) {
    if (error != nullptr && c.state == conn_state::busy && c.measured)
      ++(counts_[c.server].errors.*error);
    close(c);
    if (now < end_)
      connect(static_cast<std::size_t>(&c - conns_.data()), now);
    dispatch(now);
  }

  // A connection is free: the closed loop hands it a slot when one is free, the open
  // loop waits for its next due time.
  void idle(connection& c, std::int64_t now) {
    if (config_.concurrency) {
      if (!c.queued_idle) {
        c.queued_idle = true;
        idle_.push_back(static_cast<std::size_t>(&c - conns_.data()));
      }
      dispatch(now);
      return;
    }
    std::int64_t due = start_ + schedule_.due(c.index, c.next);
    if (due >= end_)
      return;
    if (due <= now)
      send(c, now, due);
    else
      timers_.push({due, static_cast<std::size_t>(&c - conns_.data()), c.generation});
  }

  void dispatch(std::int64_t now) {
    while (tokens_ > 0 && !idle_.empty() && now < end_) {
      connection& c = conns_[idle_.front()];
      idle_.pop_front();
      c.queued_idle = false;
      if (c.state != conn_state::idle)
        continue;
      --tokens_;
      send(c, now, now);
    }
  }

  std::uint64_t next_rank() {
    return config_.dist == unit_distribution::zipf ? zipf_(rng_) : uniform_rank(rng_, config_.units);
  }

  void send(connection& c, std::int64_t now, std::int64_t due) {
    c.due = due;
    c.measured = due >= warm_end_;
    c.state = conn_state::busy;
    c.started_at = now;
    ++c.next;
    ++c.generation;
    if (c.measured)
      ++in_flight_;
    templates_[c.server].render(next_rank(), c.out);
    c.out_at = 0;
    flush(c, now);
  }

  void flush(connection& c, std::int64_t now) {
    while (c.out_at < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_at, c.out.size() - c.out_at, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          if (!c.watching_out)
            watch(c, true, EPOLL_CTL_MOD);
          return;
        }
        bool reset = errno == EPIPE || errno == ECONNRESET;
        drop(c, reset ? &load_errors::closed : &load_errors::other, now);
        return;
      }
      c.out_at += static_cast<std::size_t>(n);
    }
    if (c.measured)
      ++counts_[c.server].sent;
    if (c.watching_out)
      watch(c, false, EPOLL_CTL_MOD);
  }

  void on_event(std::size_t i, std::uint32_t events) {
    connection& c = conns_[i];
    std::int64_t now = now_ns();
    if (c.state == conn_state::connecting) {
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0)
        connect_failed(c, error, now);
      else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        connected(c, now);
      return;
    }
    std::uint64_t generation = c.generation; // a failed flush replaces the socket
    if ((events & EPOLLOUT) && c.state == conn_state::busy && c.out_at < c.out.size())
      flush(c, now);
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c.generation == generation)
      receive(c, now);
  }

  void receive(connection& c, std::int64_t now) {
    ssize_t n = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR)
        drop(c, errno == ECONNRESET ? &load_errors::closed : &load_errors::other, now);
      return;
    }
    if (n == 0) {
      bool started = c.reader.started();
      http_response_reader::result r = c.reader.feed_eof();
      if (c.state == conn_state::busy && r == http_response_reader::result::complete)
        complete(c, now, false);
      else
        drop(c, started ? &load_errors::malformed : &load_errors::closed, now);
      return;
    }
    if (c.state != conn_state::busy) { // bytes nobody asked for
      drop(c, nullptr, now);
      return;
    }
    std::size_t used = 0;
    http_response_reader::result r = c.reader.feed(read_buffer_.data(), static_cast<std::size_t>(n), &used);
    if (r == http_response_reader::result::malformed || (r == http_response_reader::result::complete && used != static_cast<std::size_t>(n)))
      drop(c, &load_errors::malformed, now);
    else if (r == http_response_reader::result::complete)
      complete(c, now, c.reader.keep_alive());
  }

  void complete(connection& c, std::int64_t now, bool keep_alive) {
    if (c.measured) {
      server_counts& counts = counts_[c.server];
      ++counts.completed;
      ++counts.statuses[c.reader.status()];
      latency_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - c.due)));
      --in_flight_;
    }
    c.reader.reset();
    if (config_.concurrency)
      ++tokens_;
    c.state = conn_state::idle;
    ++c.generation;
    if (keep_alive)
      idle(c, now);
    else
      drop(c, nullptr, now);
  }

  void fire_timers(std::int64_t now) {
    while (!timers_.empty() && timers_.top().at <= now) {
      timer t = timers_.top();
      timers_.pop();
      connection& c = conns_[t.conn];
      if (t.generation != c.generation)
        continue;
      if (c.state == conn_state::down)
        connect(t.conn, now);
      else if (c.state == conn_state::idle)
        send(c, now, t.at);
    }
  }

  // Connects and requests that outlived --timeout.
  void sweep(std::int64_t now) {
    for (connection& c : conns_) {
      bool late = now - c.started_at > config_.timeout.count();
      if (late && c.state == conn_state::busy) {
        drop(c, &load_errors::timeouts, now);
      } else if (late && c.state == conn_state::connecting) {
        if (in_window(now))
          ++counts_[c.server].errors.timeouts;
        close(c);
        if (now < end_)
          connect(static_cast<std::size_t>(&c - conns_.data()), now);
      }
    }
  }

  // The timerfd wakes the loop for the earliest timer, to the nanosecond: epoll_wait's
  // milliseconds would add up to 1 ms to every open-loop latency.
  void arm_timer() {
    while (!timers_.empty() && timers_.top().generation != conns_[timers_.top().conn].generation)
      timers_.pop();
    if (timers_.empty() || timers_.top().at >= armed_)
      return;
    armed_ = timers_.top().at;
    itimerspec spec{};
    spec.it_value.tv_sec = armed_ / 1'000'000'000;
    spec.it_value.tv_nsec = armed_ % 1'000'000'000;
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  const load_config& config_;
  const std::vector<request_template>& templates_;
  const std::vector<resolved_server>& servers_;
  std::mt19937_64 rng_;
  zipf_sampler zipf_;
  std::vector<server_counts> counts_;
  latency_histogram latency_;
  bool connected_once_ = false;
  std::int64_t start_, warm_end_, end_;
  std::vector<char> read_buffer_;
  std::vector<connection> conns_;
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::int64_t armed_ = INT64_MAX;
  int epoll_fd_ = -1, timer_fd_ = -1;
  std::size_t tokens_ = 0;
  std::deque<std::size_t> idle_;
  open_loop_schedule schedule_{1, 1};
  std::int64_t in_flight_ = 0; // measured requests out
};

} // namespace

load_result run_load(const load_config& config) {
  std::vector<resolved_server> servers;
  std::vector<request_template> templates;
  for (const server_address& server : config.servers) {
    servers.push_back(resolve(server));
    templates.emplace_back(config, server);
  }
  std::int64_t start = now_ns();
  std::vector<std::unique_ptr<worker>> workers;
  for (std::size_t t = 0; t < config.threads; ++t)
    workers.push_back(std::make_unique<worker>(config, templates, servers, t, start));
  std::vector<std::exception_ptr> failures(config.threads);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < config.threads; ++t)
    threads.emplace_back([&, t] {
      try {
        workers[t]->run();
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  for (std::thread& t : threads)
    t.join();
  for (const std::exception_ptr& failure : failures)
    if (failure)
      std::rethrow_exception(failure);

  load_result result;
  result.servers.resize(config.servers.size());
  result.measured_seconds = std::chrono::duration<double>(config.duration).count();
  for (const auto& w : workers) {
    for (std::size_t s = 0; s < w->counts().size(); ++s)
      result.servers[s].add(w->counts()[s]);
    result.latency.merge(w->latency());
    result.connected_once = result.connected_once || w->connected_once();
  }
  if (config.rate) {
    open_loop_schedule schedule{*config.rate, config.connections};
    result.scheduled = schedule.due_between(config.warmup.count(), (config.warmup + config.duration).count());
  }
  return result;
}

} // namespace expd::tools
