#include "runtime/node_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/pg_url.hpp"

namespace expd::runtime {

namespace {

std::size_t positive(std::string_view flag, const std::string& value) {
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(value, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != value.size() || n == 0)
    throw std::invalid_argument("--" + std::string{flag} + " must be a positive integer");
  return static_cast<std::size_t>(n);
}

double non_negative(std::string_view flag, const std::string& value) {
  std::size_t pos = 0;
  double x = -1;
  try {
    x = std::stod(value, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != value.size() || !(x >= 0 && x < 1e6))
    throw std::invalid_argument("--" + std::string{flag} + " must be a number from 0 to 1e6");
  return x;
}

void set_listen(node_config& cfg, const std::string& value) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--listen must be HOST:PORT");
  auto port = positive("listen", value.substr(colon + 1));
  if (port > 65535)
    throw std::invalid_argument("--listen port must be at most 65535");
  cfg.listen_host = value.substr(0, colon);
  cfg.listen_port = static_cast<std::uint16_t>(port);
}

bool on_off(const std::string& name, const std::string& value) {
  if (value == "on")
    return true;
  if (value == "off")
    return false;
  throw std::invalid_argument("--" + name + " must be on or off");
}

bool shard_thread(const std::string& value) {
  if (value == "io")
    return true;
  if (value == "scheduler")
    return false;
  throw std::invalid_argument("--shard-thread must be io or scheduler");
}

core::scope_set open_scopes(const std::string& value) {
  try {
    return core::parse_scopes(value);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string{"--open-scopes: "} + e.what() + ", or none");
  }
}

} // namespace

namespace {

bool loopback_host(const std::string& address) {
  auto host = address.substr(0, address.rfind(':'));
  return host == "localhost" || host == "[::1]" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A cluster member needs a name the others can tell apart, an address for its link,
// and either certificates of the cluster CA or, on loopback only, an explicit
// --cluster-plain.
void check_cluster_flags(const node_config& cfg) {
  bool any = !cfg.cluster_listen.empty() || !cfg.join.empty() || cfg.cluster_plain
             || !cfg.cluster_cert.empty() || !cfg.cluster_key.empty() || !cfg.cluster_ca.empty();
  if (cfg.node_name.empty()) {
    if (any)
      throw std::invalid_argument("--cluster-listen, --join and the certificates need --node-name");
    return;
  }
  if (cfg.node_name.size() > 63
      || cfg.node_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.")
           != std::string::npos
      || cfg.node_name[0] == '-' || cfg.node_name[0] == '.')
    throw std::invalid_argument("--node-name must be 1-63 of a-z 0-9 - _ . (not starting with - or .)");
  if (cfg.cluster_listen.empty())
    throw std::invalid_argument("--node-name needs --cluster-listen=HOST:PORT (the node link)");
  if (cfg.cluster_plain) {
    if (!loopback_host(cfg.cluster_listen) || (!cfg.join.empty() && !loopback_host(cfg.join)))
      throw std::invalid_argument(
        "--cluster-plain links nodes without TLS and is allowed on loopback only; "
        "give --cluster-cert, --cluster-key and --cluster-ca for other addresses");
  } else if (cfg.cluster_cert.empty() || cfg.cluster_key.empty() || cfg.cluster_ca.empty()) {
    throw std::invalid_argument(
      "a cluster node needs --cluster-cert, --cluster-key and --cluster-ca "
      "(deploy/cluster-certs.sh makes them under var/cluster-tls), or --cluster-plain on loopback");
  }
}

} // namespace

node_config parse_node_config(int argc, const char* const* argv) {
  node_config cfg;
  if (auto* env = std::getenv("EXPD_PG_URL"))
    cfg.pg_url = env;
  if (auto* env = std::getenv("EXPD_ADMIN_TOKEN"))
    cfg.admin_token = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      throw std::invalid_argument("unexpected argument \"" + arg + "\" (flags are --name=value)");
    auto name = arg.substr(2, eq - 2);
    auto value = arg.substr(eq + 1);
    if (name == "listen")
      set_listen(cfg, value);
    else if (name == "pg")
      cfg.pg_url = value;
    else if (name == "admin-token-file")
      cfg.admin_token_file = value;
    else if (name == "client-keys")
      cfg.client_keys_file = value;
    else if (name == "environment")
      cfg.environment = value;
    else if (name == "open-scopes")
      cfg.open_scopes = value == "none" ? 0 : open_scopes(value);
    else if (name == "shards")
      cfg.shards = positive(name, value);
    else if (name == "node-name")
      cfg.node_name = value;
    else if (name == "cluster-listen")
      cfg.cluster_listen = value;
    else if (name == "mlflow")
      cfg.mlflow_uri = value == "off" ? "" : value;
    else if (name == "datasets")
      cfg.datasets = value;
    else if (name == "dataset-query")
      cfg.dataset_query = value;
    else if (name == "model-cache")
      cfg.model_cache = value;
    else if (name == "replay-poll-ms")
      cfg.replay_poll = std::chrono::milliseconds{positive(name, value)};
    else if (name == "plan-max-new-tokens") {
      cfg.plan_max_new_tokens = positive(name, value);
      if (cfg.plan_max_new_tokens > 512)
        throw std::invalid_argument("--plan-max-new-tokens must be at most 512 (a request's own cap)");
    } else if (name == "plan-usd-per-1k-tokens")
      cfg.plan_usd_per_1k_tokens = non_negative(name, value);
    else if (name == "trainer-listen") {
      // Plain TCP: a worker is a process of this machine, never of the network.
      if (!loopback_host(value))
        throw std::invalid_argument("--trainer-listen must be a loopback address (127.0.0.1:PORT): "
                                    "trainer workers run on their node's machine");
      cfg.trainer_listen = value;
    }
    else if (name == "join")
      cfg.join = value;
    else if (name == "cluster-plain")
      cfg.cluster_plain = on_off(name, value);
    else if (name == "cluster-cert")
      cfg.cluster_cert = value;
    else if (name == "cluster-key")
      cfg.cluster_key = value;
    else if (name == "cluster-ca")
      cfg.cluster_ca = value;
    else if (name == "lease-ms")
      cfg.lease = std::chrono::milliseconds{positive(name, value)};
    else if (name == "threads")
      cfg.threads = positive(name, value);
    else if (name == "shard-thread")
      cfg.shards_on_io_thread = shard_thread(value);
    else if (name == "log-level")
      cfg.log_level = value;
    else if (name == "max-body-bytes")
      cfg.http.max_body_bytes = positive(name, value);
    else if (name == "max-connections")
      cfg.max_connections = positive(name, value);
    else if (name == "writer-batch")
      cfg.writer_batch = positive(name, value);
    else if (name == "writer-max-queue")
      cfg.writer_max_queue = positive(name, value);
    else if (name == "writer-interval-ms")
      cfg.writer_interval = std::chrono::milliseconds{positive(name, value)};
    else if (name == "slow-client-timeout-ms")
      cfg.slow_client_timeout = std::chrono::milliseconds{positive(name, value)};
    else if (name == "idle-timeout-ms")
      cfg.idle_timeout = std::chrono::milliseconds{positive(name, value)};
    else if (name == "spool-dir")
      cfg.spool_dir = value;
    else if (name == "spool-max-mb")
      cfg.spool_max_bytes = static_cast<std::uint64_t>(positive(name, value)) << 20;
    else if (name == "spool-fsync")
      cfg.spool_fsync = on_off(name, value);
    else if (name == "assignment-journal-dir")
      cfg.assignment_journal_dir = value;
    else if (name == "event-max-past-hours")
      cfg.event_max_past_hours = static_cast<std::int64_t>(positive(name, value));
    else if (name == "event-max-future-minutes")
      cfg.event_max_future_minutes = static_cast<std::int64_t>(positive(name, value));
    else if (name == "archive")
      cfg.archive = value;
    else if (name == "archive-interval-ms")
      cfg.archive_interval = std::chrono::milliseconds{positive(name, value)};
    else if (name == "archive-max-events")
      cfg.archive_max_events = positive(name, value);
    else if (name == "aggregate-interval-ms")
      cfg.aggregate_interval = value == "0" ? std::chrono::milliseconds{0}
                                            : std::chrono::milliseconds{positive(name, value)};
    else if (name == "promotion-interval-ms")
      cfg.promotion_interval = std::chrono::milliseconds{positive(name, value)};
    else if (name == "pipeline-tick-ms")
      cfg.pipeline_tick = std::chrono::milliseconds{positive(name, value)};
    else if (name == "chartjs-path")
      cfg.chartjs_path = value;
    else if (name == "aggregate-unheld") {
      if (value != "exclude" && value != "include")
        throw std::invalid_argument("--aggregate-unheld must be exclude or include");
      cfg.aggregate_unheld = value == "include";
    } else if (name == "failpoints")
      cfg.failpoints = value;
    else
      throw std::invalid_argument("unknown flag --" + name);
  }
  // Beside the events' spool, so one folder holds a node's local state; the spool
  // reads only its numbered segment files.
  if (cfg.assignment_journal_dir.empty())
    cfg.assignment_journal_dir = cfg.spool_dir + "/assignment-journal";
  if (cfg.archive.empty())
    throw std::invalid_argument("--archive is empty (give a folder, a URL or off)");
  if (cfg.datasets.empty())
    throw std::invalid_argument("--datasets is empty (give a folder or a URL)");
  check_cluster_flags(cfg);
  if (cfg.pg_url.empty())
    throw std::invalid_argument("--pg (or EXPD_PG_URL) is required");
  // A member cut off from PostgreSQL must notice within a lease and, once the network is
  // back, reconnect at once: without these a connection the cut stalled waits for TCP's
  // retransmissions, which back off to minutes (docs/cluster.md).
  if (!cfg.node_name.empty())
    cfg.pg_url = core::with_pg_options(
      cfg.pg_url, {{"connect_timeout", "2"},
                   {"keepalives", "1"},
                   {"keepalives_idle", "1"},
                   {"keepalives_interval", "1"},
                   {"keepalives_count", "3"},
                   {"tcp_user_timeout", std::to_string(cfg.lease.count())}});
  if (cfg.admin_token.empty() && cfg.admin_token_file.empty())
    throw std::invalid_argument(
      "an admin token is required (EXPD_ADMIN_TOKEN or --admin-token-file)");
  return cfg;
}

std::size_t fit_connection_limit(std::size_t requested, std::uint64_t descriptors) noexcept {
  constexpr std::uint64_t overhead = reserved_descriptors + health_connections + 1;
  if (descriptors <= overhead)
    return 1;
  return static_cast<std::size_t>(std::min<std::uint64_t>(requested, descriptors - overhead));
}

std::string node_usage() {
  return "usage: expd --pg=postgresql://... [--listen=127.0.0.1:8080] [--shards=4]\n"
         "            [--threads=N] [--shard-thread=io|scheduler] [--log-level=info]\n"
         "            [--max-body-bytes=1048576]\n"
         "            [--max-connections=10000] [--writer-batch=1000]\n"
         "            [--writer-max-queue=1000000]\n"
         "            [--writer-interval-ms=50] [--slow-client-timeout-ms=10000]\n"
         "            [--idle-timeout-ms=60000] [--admin-token-file=PATH]\n"
         "            [--client-keys=PATH] [--environment=default]\n"
         "            [--open-scopes=assign,events:write|none]\n"
         "            [--spool-dir=var/spool] [--spool-max-mb=1024] [--spool-fsync=on]\n"
         "            [--assignment-journal-dir=SPOOL_DIR/assignment-journal]\n"
         "            [--event-max-past-hours=168] [--event-max-future-minutes=5]\n"
         "            [--archive=var/archive|file:///DIR|s3://BUCKET?endpoint=URL|off]\n"
         "            [--archive-interval-ms=60000] [--archive-max-events=200000]\n"
         "            [--aggregate-interval-ms=60000 (0: on demand only)]\n"
         "            [--aggregate-unheld=exclude|include]\n"
         "            [--promotion-interval-ms=60000 (between promotion passes)]\n"
         "            [--pipeline-tick-ms=15000 (between looks for due pipeline runs)]\n"
         "            [--chartjs-path=/usr/share/javascript/chart.js/chart.min.js]\n"
         "            [--failpoints=NAME[@N],... (tests only: die there, docs/operations.md)]\n"
         "  cluster:   [--node-name=NAME --cluster-listen=HOST:PORT [--join=HOST:PORT]\n"
         "             --cluster-cert=PEM --cluster-key=PEM --cluster-ca=PEM | --cluster-plain=on]\n"
         "            [--lease-ms=1000]\n"
         "  training:  [--trainer-listen=127.0.0.1:PORT (expd-trainer workers register there)]\n"
         "            [--mlflow=URI (where training runs and dataset versions are logged; none without it)]\n"
         "  datasets:  [--datasets=var|file:///DIR|s3://BUCKET?endpoint=URL (datasets/NAME/VERSION/)]\n"
         "            [--dataset-query=FILE (the planner join instead of sql/domain/planner_dataset.sql)]\n"
         "  replay:    [--model-cache=var/models (model versions fetched from MLflow)] [--replay-poll-ms=2000]\n"
         "  plans:     [--plan-max-new-tokens=96 (a request's default)] [--plan-usd-per-1k-tokens=0 (cost_usd)]\n"
         "environment: EXPD_PG_URL, EXPD_ADMIN_TOKEN\n";
}

} // namespace expd::runtime
