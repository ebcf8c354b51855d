#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/command_line.hpp"

// What `expctl load` is asked to do, parsed from its flags with errors that name the
// flag, and the open-loop schedule it keeps.
namespace expd::tools {

struct server_address {
  std::string url;  // as given, without a trailing slash
  std::string host; // name or address, IPv6 without its brackets
  std::string port;
  std::string host_header; // host[:port] as the URL wrote it
};

enum class unit_distribution { uniform, zipf };

struct load_config {
  std::vector<server_address> servers;
  std::size_t connections = 0;
  std::size_t threads = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds{10};
  std::chrono::nanoseconds warmup = std::chrono::seconds{2};
  std::chrono::nanoseconds timeout = std::chrono::seconds{2};
  std::optional<double> rate;              // open loop: requests per second in total
  std::optional<std::size_t> concurrency;  // closed loop: requests in flight in total
  std::uint64_t units = 100000;
  unit_distribution dist = unit_distribution::uniform;
  double zipf_s = 1.0;
  std::uint64_t seed = 1;
  std::string unit_type = "user";
  std::vector<std::string> experiments; // empty: all
  std::string context = "{}";           // a JSON object, compact
  std::string token;                    // bearer token; empty: none
};

/// The flags `expctl load` takes, beside the global ones.
extern const std::vector<std::string_view> load_option_names;

/// The options in `line` as a load_config; `server` is --server or its default (a
/// comma-separated list). Throws usage_error naming the flag at fault.
load_config parse_load_config(const command_line& line, const std::string& server);

/// "10s", "1.5s", "250ms", "2m", "1h" or a bare number of seconds; nullopt otherwise.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text);

/// http://host[:port][/]; nullopt when it is not such a URL (why in *why).
std::optional<server_address> parse_server_url(const std::string& url, std::string* why);

/// The open loop of wrk2: request j of the run (counting across all connections) is
/// due at j / rate after the start, and goes to connection j mod connections, so each
/// connection keeps its own fixed pace and the connections interleave evenly.
/// Latency counts from the due time, not from when a busy connection got to send it.
struct open_loop_schedule {
  double rate; // requests per second, > 0
  std::size_t connections;

  /// Nanoseconds after the start at which the `i`-th request of connection `c` is due.
  std::int64_t due(std::size_t c, std::uint64_t i) const {
    double j = static_cast<double>(i) * static_cast<double>(connections) + static_cast<double>(c);
    return static_cast<std::int64_t>(j * 1e9 / rate);
  }

  /// How many requests are due in [from, to) nanoseconds after the start, over all
  /// connections.
  std::uint64_t due_between(std::int64_t from, std::int64_t to) const;
};

} // namespace expd::tools
