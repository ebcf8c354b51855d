#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/latency_histogram.hpp"
#include "tools/load_config.hpp"

// expctl load's engine: per thread one epoll loop over non-blocking keep-alive
// connections that send pre-rendered POST /v1/assign requests, and what it counted.
namespace expd::tools {

/// Failures, per server. A request is sent when its last byte is written; it completes
/// when a whole HTTP response came back, whatever its status.
struct load_errors {
  std::uint64_t connect_refused = 0; // ECONNREFUSED
  std::uint64_t connect_failed = 0;  // any other failure to connect (or resolve)
  std::uint64_t timeouts = 0;        // no whole response within --timeout of sending
  std::uint64_t closed = 0;          // the server closed a connection a request was on
  std::uint64_t malformed = 0;       // not an HTTP/1.x response we can frame
  std::uint64_t other = 0;           // a socket error while sending or receiving

  std::uint64_t total() const noexcept {
    return connect_refused + connect_failed + timeouts + closed + malformed + other;
  }
  void add(const load_errors& o);
};

struct server_counts {
  std::uint64_t sent = 0;
  std::uint64_t completed = 0;
  std::map<int, std::uint64_t> statuses; // HTTP status -> responses
  load_errors errors;

  std::uint64_t succeeded() const; // 2xx
  void add(const server_counts& o);
};

struct load_result {
  std::uint64_t scheduled = 0; // open loop: requests due in the measured window
  std::vector<server_counts> servers; // as config.servers
  latency_histogram latency;   // completed requests (ns), from due time in the open loop
  bool connected_once = false; // some connection was established, in the window or not
  double measured_seconds = 0; // the window: --duration

  server_counts total() const;
};

/// Runs the load `config` describes and returns what it measured. Throws
/// unreachable_error when a server's host does not resolve.
load_result run_load(const load_config& config);

/// The report as JSON (docs/operations.md#expctl-load gives the schema).
nlohmann::json load_report_json(const load_config& config, const load_result& result);

/// The report for a terminal, from load_report_json's document.
std::string load_report_text(const nlohmann::json& report);

} // namespace expd::tools
