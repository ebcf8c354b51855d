#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/io/broker.hpp>

#include "messages/shard_router.hpp"
#include "actors/gateway/guarded_doorman.hpp"
#include "messages/actors.hpp"
#include "runtime/http_codec.hpp"
#include "runtime/prometheus.hpp"
#include "runtime/web_assets.hpp"

namespace expd {

struct gateway_config {
  runtime::http_limits http;
  core::access_policy_ptr access; ///< replaced by atom::access (SIGHUP), never null
  std::size_t max_connections = 10000; ///< fitted to the descriptor limit at start
  std::size_t health_connections = 8; ///< over max_connections, for /health and /metrics only
  std::size_t max_pipelined = 64; ///< unanswered requests per connection before reading stops
  std::size_t max_unsent_bytes = 8 * 1024 * 1024; ///< a client that does not read is dropped
  std::chrono::milliseconds request_timeout{5000};
  /// A shard on another node: past this the request is answered 503 with Retry-After.
  std::chrono::milliseconds remote_timeout{500};
  /// POST /v1/plan past its assignment: a model's first load (seconds) and its batch.
  std::chrono::milliseconds plan_timeout{90000};
  std::chrono::milliseconds slow_client_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::shared_ptr<const runtime::web_assets> dashboard; ///< GET /dashboard/...; none: 404
};

/// Who the gateway routes to.
struct gateway_routes {
  experiment_registry_actor registry;
  assignment_writer_actor writer;
  shard_router shards;
  ingestion_actor ingestion;
  std::vector<status_actor> reporters; ///< further actors whose status /metrics shows
  aggregator_actor aggregator;         ///< POST /admin/v1/aggregate
  results_reader_actor results;        ///< GET /v1/experiments[/{id}/results|series]
  membership_actor membership;         ///< GET /v1/cluster; null for a node alone
  training_registry_actor training;    ///< /admin/v1/training-jobs
  policy_registry_actor policies;      ///< /admin/v1/policies
  promotion_controller_actor promotions; ///< /admin/v1/promotions
  dataset_builder_actor datasets;      ///< /admin/v1/datasets
  replay_runner_actor replays;         ///< /admin/v1/replays
  pipeline_scheduler_actor pipelines;  ///< /admin/v1/pipelines, /admin/v1/pipeline-runs
  plan_server_actor plans;             ///< POST /v1/plan, /v1/plan/batch
};

/// One response slot per request, so pipelined requests are answered in order even
/// when their actors reply out of order.
struct reply_slot {
  bool ready = false;
  bool keep_alive = true;
  std::string bytes;
};

struct http_connection {
  explicit http_connection(const runtime::http_limits& limits)
    : parser(limits), last_activity(std::chrono::steady_clock::now()) {
  }

  runtime::http_request_parser parser;
  std::uint64_t id = 0; ///< unique for the process: handles (socket numbers) are reused
  std::deque<reply_slot> slots;
  std::uint64_t first_seq = 0; ///< sequence number of slots.front()
  std::uint64_t next_seq = 0;
  std::chrono::steady_clock::time_point last_activity;
  std::chrono::steady_clock::time_point request_started;
  bool closing = false; ///< no more requests are read; close once slots drain
  bool halted = false;  ///< reading paused for backpressure
  bool health_only = false; ///< taken over the limit: answers /health and /metrics only
  bool direct = true; ///< replies go to the socket; false once CAF buffers some for it
};

struct endpoint_metrics {
  std::map<int, std::uint64_t> by_status;
  runtime::latency_histogram latency;
};

struct gateway_state {
  static inline const char* name = "gateway";

  gateway_config cfg;
  std::unique_ptr<gateway_routes> routes;
  std::unordered_map<caf::io::connection_handle, http_connection> conns;
  std::map<std::string, endpoint_metrics> endpoints;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;
  std::uint64_t remote_failures = 0;
  caf::io::accept_handle acceptor;
  std::shared_ptr<accept_guard> accept;
  std::uint64_t shed_logged = 0; ///< accept->shed when last logged
  std::string overloaded;        ///< the 503 that connections over every limit get
  bool stopping = false;
  /// Steady clock, nanoseconds: until when the lease lets this node answer for its own
  /// slots (atom::lease); a node alone is never bound by one.
  std::int64_t serve_until = std::numeric_limits<std::int64_t>::max();
};

using gateway_broker = caf::io::stateful_broker<gateway_state>;

/// The HTTP/1.1 front door: accepts connections on `listen_fd` (already bound and
/// listening), parses requests, routes each to the owning actor and writes replies
/// in order. Answers atom::stop by refusing new connections and closing idle ones, and
/// takes a new access policy (admin tokens, client keys) with atom::access. Answers
/// atom::status with its own figures (requests by endpoint and code, connections).
caf::behavior gateway(gateway_broker* self, int listen_fd, gateway_config cfg,
                      gateway_routes routes);

} // namespace expd
