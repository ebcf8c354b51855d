#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/client_keys.hpp"
#include "runtime/http_codec.hpp"

namespace expd::runtime {

/// Everything one expd node is started with. Flags win over environment variables,
/// which win over these defaults.
struct node_config {
  std::string listen_host = "127.0.0.1"; ///< --listen=HOST:PORT
  std::uint16_t listen_port = 8080;
  std::string pg_url;      ///< --pg, EXPD_PG_URL (required)
  /// --mlflow=URI|off: where training runs are logged; empty: nowhere. Not read from
  /// MLFLOW_TRACKING_URI: a node logs to MLflow only when told to.
  std::string mlflow_uri;
  std::string admin_token;      ///< EXPD_ADMIN_TOKEN (this or admin_token_file is required)
  std::string admin_token_file; ///< --admin-token-file: tokens, one a line, read again on SIGHUP
  std::string client_keys_file; ///< --client-keys: core::client_keys' file, read again on SIGHUP
  std::string environment = "default"; ///< --environment: the keys this node takes
  core::scope_set open_scopes = core::parse_scopes("assign,events:write"); ///< --open-scopes
  std::size_t shards = 4;  ///< --shards

  // A member of a cluster (docs/cluster.md); without --node-name the node runs alone.
  std::string node_name;       ///< --node-name: unique in the cluster
  std::string cluster_listen;  ///< --cluster-listen=HOST:PORT: the node link
  std::string join;            ///< --join=HOST:PORT: a member to check against first
  bool cluster_plain = false;  ///< --cluster-plain: TCP without TLS, loopback only
  std::string cluster_cert;    ///< --cluster-cert: this node's certificate (PEM)
  std::string cluster_key;     ///< --cluster-key: its private key
  /// --trainer-listen=HOST:PORT (loopback): where this node's trainer workers (expd-trainer,
  /// docs/gpu.md) reach its training registry; empty: no workers can register.
  std::string trainer_listen;
  std::string cluster_ca;      ///< --cluster-ca: the cluster CA that signs every node's
  std::chrono::milliseconds lease{1000}; ///< --lease-ms
  std::size_t threads = 0; ///< --threads: scheduler threads, 0 = cores - 1 (at least 1)
  /// --shard-thread=io|scheduler: the shards run beside the gateway on the middleman's
  /// I/O thread (io) or on the scheduler's threads.
  bool shards_on_io_thread = true;
  std::string log_level = "info";

  http_limits http;                                  ///< --max-body-bytes
  std::size_t max_connections = 10000;               ///< --max-connections
  std::chrono::milliseconds request_timeout{5000};   ///< actor answer deadline
  std::chrono::milliseconds slow_client_timeout{10000}; ///< a started request must finish
  std::chrono::milliseconds idle_timeout{60000};     ///< keep-alive without requests

  std::size_t writer_batch = 1000;                   ///< --writer-batch
  std::chrono::milliseconds writer_interval{50};     ///< longest a row waits to be written
  std::size_t writer_max_queue = 1000000;            ///< --writer-max-queue: rows held while PostgreSQL is away
  std::chrono::milliseconds drain_timeout{30000};    ///< SIGTERM: longest wait for the writer
  std::string spool_dir = "var/spool";               ///< --spool-dir: events before PostgreSQL
  std::uint64_t spool_max_bytes = 1024ULL << 20;     ///< --spool-max-mb: past it, 503
  bool spool_fsync = true;                           ///< --spool-fsync=on|off
  /// --assignment-journal-dir: the shards' journals of first-time assignments; empty
  /// on the command line means <spool_dir>/assignment-journal.
  std::string assignment_journal_dir;
  std::int64_t event_max_past_hours = 7 * 24;        ///< --event-max-past-hours
  std::int64_t event_max_future_minutes = 5;         ///< --event-max-future-minutes
  std::string archive = "var/archive";               ///< --archive: folder, file:// or s3:// URL, or off
  std::chrono::milliseconds archive_interval{60000}; ///< --archive-interval-ms
  std::size_t archive_max_events = 200000;           ///< --archive-max-events per chunk
  std::chrono::milliseconds aggregate_interval{60000}; ///< --aggregate-interval-ms; 0: on demand only
  std::chrono::milliseconds promotion_interval{60000}; ///< --promotion-interval-ms
  std::chrono::milliseconds pipeline_tick{15000};      ///< --pipeline-tick-ms: between looks for due pipeline runs
  bool aggregate_unheld = false; ///< --aggregate-unheld=include: keep claims of unheld variants
  std::string chartjs_path = "/usr/share/javascript/chart.js/chart.min.js"; ///< --chartjs-path (libjs-chart.js)
  /// --datasets: where built datasets go (keys datasets/NAME/VERSION/...): a folder laid
  /// out like a bucket, file:///DIR or s3://BUCKET?...
  std::string datasets = "var";
  std::string dataset_query; ///< --dataset-query=FILE: the planner's join query instead of the built-in one
  std::string model_cache = "var/models"; ///< --model-cache: model versions replay fetched from MLflow
  std::chrono::milliseconds replay_poll{2000}; ///< --replay-poll-ms: how often queued replays are looked for
  std::uint32_t plan_max_new_tokens = 96; ///< --plan-max-new-tokens: POST /v1/plan's default
  double plan_usd_per_1k_tokens = 0;      ///< --plan-usd-per-1k-tokens: a plan's cost_usd per 1,000 tokens
  std::string failpoints; ///< --failpoints: where a test makes the node die (runtime/failpoint.hpp)
};

/// Descriptors kept for everything but client connections: PostgreSQL sessions, spool
/// and archive files, object storage, CAF's epoll and pipes (docs/operations.md).
constexpr std::uint64_t reserved_descriptors = 64;
/// Connections taken over the limit that answer only /health and /metrics, so a full
/// node can still be watched.
constexpr std::size_t health_connections = 8;

/// The connection limit that fits `descriptors` (the RLIMIT_NOFILE in force):
/// `requested` when it fits, else what is left after reserved_descriptors,
/// health_connections and one spare descriptor, at least 1.
std::size_t fit_connection_limit(std::size_t requested, std::uint64_t descriptors) noexcept;

/// Reads flags (--name=value) and the environment. Throws std::invalid_argument with a
/// message naming the flag on a bad or unknown flag or a missing required value.
node_config parse_node_config(int argc, const char* const* argv);

/// The --help text.
std::string node_usage();

} // namespace expd::runtime
