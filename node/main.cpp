// expd: one node. Start-up order matters: the schema is migrated and the experiments
// and stored assignments are loaded before the port opens, so the first request is
// answered with sticky variants already in place.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <iterator>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/aggregation/aggregator.hpp"
#include "actors/aggregation/results_reader.hpp"
#include "actors/assignment/assignment_shard.hpp"
#include "actors/assignment/assignment_writer.hpp"
#include "actors/assignment/experiment_registry.hpp"
#include "actors/lifecycle/policy_registry.hpp"
#include "actors/lifecycle/promotion_controller.hpp"
#include "actors/lifecycle/dataset_builder.hpp"
#include "actors/lifecycle/pipeline_scheduler.hpp"
#include "actors/lifecycle/replay_runner.hpp"
#include "actors/serving/plan_server.hpp"
#include "runtime/tokenizer_process.hpp"
#include "actors/training/training_registry.hpp"
#include "actors/training/training_tracker.hpp"
#include "runtime/mlflow_client.hpp"
#include "actors/gateway/gateway.hpp"
#include "actors/ingestion/archiver.hpp"
#include "actors/ingestion/event_loader.hpp"
#include "actors/ingestion/event_reader.hpp"
#include "actors/ingestion/ingestion.hpp"
#include "actors/ingestion/partition_keeper.hpp"
#include "cluster/membership.hpp"
#include "cluster/node_entry.hpp"
#include "cluster/node_link.hpp"
#include "messages/type_registry.hpp"
#include "runtime/assignment_journal.hpp"
#include "runtime/access_files.hpp"
#include "runtime/assignment_store.hpp"
#include "runtime/experiment_store.hpp"
#include "runtime/failpoint.hpp"
#include "runtime/listen_socket.hpp"
#include "runtime/log.hpp"
#include "runtime/migrations.hpp"
#include "runtime/node_config.hpp"
#include "runtime/saved_group_store.hpp"
#include "runtime/wall_clock.hpp"

using namespace expd;
using runtime::log;
using runtime::log_level;

namespace {

// The cluster would not take this node, or an address it was told to listen on is
// taken: said as it is, exit status 2 like a bad flag. `event` names it in the log.
struct start_refusal : std::runtime_error {
  explicit start_refusal(const std::string& what, std::string event = "cluster_join_refused")
    : std::runtime_error(what), event(std::move(event)) {
  }
  std::string event;
};

// PostgreSQL may still be starting beside us; give it a while before giving up.
void migrate_when_reachable(const std::string& url) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  for (;;) {
    try {
      auto applied = runtime::migrate(url);
      log(log_level::info, "migrations_applied", {{"versions", applied}});
      return;
    } catch (const pqxx::broken_connection& e) {
      if (std::chrono::steady_clock::now() > deadline)
        throw;
      log(log_level::warn, "postgres_unreachable", {{"error", e.what()}});
      std::this_thread::sleep_for(std::chrono::seconds{1});
    }
  }
}

// First-time assignments a crash left in the shards' journals were answered but may not
// be in PostgreSQL: they are stored before exp.assignments is preloaded, so they are
// sticky again, and the journals emptied. Whatever shard count wrote them: preloading
// routes the rows.
void replay_journals(const runtime::node_config& cfg) {
  runtime::assignment_store store{cfg.pg_url};
  std::uint64_t unreadable = 0;
  std::size_t refused = 0;
  auto rows = runtime::read_assignment_journals(
    cfg.assignment_journal_dir, cfg.writer_batch,
    [&](assignment_batch&& batch) {
      auto result = store.write(batch);
      if (!result.failure.empty())
        throw std::runtime_error("cannot store the journaled assignments: " + result.failure);
      refused += result.refused.size();
    },
    unreadable);
  runtime::remove_assignment_journals(cfg.assignment_journal_dir);
  log(unreadable == 0 ? log_level::info : log_level::error, "assignment_journals_replayed",
      {{"rows", rows}, {"dead_lettered", refused}, {"unreadable", unreadable}});
}

void preload_assignments(caf::scoped_actor& self, const runtime::node_config& cfg,
                         const shard_router& router) {
  runtime::assignment_store store{cfg.pg_url};
  std::uint64_t rows = 0;
  store.for_each_served(10000, [&](assignment_batch&& batch) {
    rows += batch.size();
    router.remember(self, std::move(batch));
  });
  log(log_level::info, "assignments_preloaded", {{"rows", rows}});
}

// SIGTERM: stop taking requests, hand every first-time assignment to the writer, and
// wait until the writer has put them in PostgreSQL; then the journals hold nothing the
// next start needs.
void drain(caf::scoped_actor& self, const runtime::node_config& cfg, caf::actor gateway,
           const shard_router& router, const assignment_writer_actor& writer,
           const membership_actor& membership) {
  // A cluster member first hands its slots to the others, still answering as a gateway.
  if (membership)
    self->request(membership, cfg.drain_timeout, atom::leave::value)
      .receive([](bool) { log(log_level::info, "slots_handed_over"); },
               [](caf::error& err) {
                 log(log_level::error, "slots_handover_failed", {{"error", caf::to_string(err)}});
               });
  self->request(gateway, std::chrono::seconds{5}, atom::stop::value)
    .receive([](bool) {}, [](caf::error&) {});
  // Replies already in flight reach their clients before the shards are flushed.
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  for (auto& shard : router.all())
    self->request(shard, std::chrono::seconds{5}, atom::flush::value)
      .receive([](bool) {}, [](caf::error&) {});
  self->request(writer, cfg.drain_timeout + std::chrono::seconds{5}, atom::drain::value)
    .receive(
      [&](std::uint64_t left) {
        log(left == 0 ? log_level::info : log_level::error, "writer_drained",
            {{"rows_left", left}});
        if (left == 0)
          runtime::remove_assignment_journals(cfg.assignment_journal_dir);
      },
      [](caf::error& err) {
        log(log_level::error, "writer_drain_failed", {{"error", caf::to_string(err)}});
      });
}

// Waits for SIGTERM or SIGINT. SIGHUP reads the admin tokens and client keys again
// and hands them to the gateway; a file that does not parse changes nothing.
int wait_for_stop(const runtime::node_config& cfg, caf::actor gateway) {
  for (;;) {
    auto sig = runtime::wait_for_signal();
    if (sig != SIGHUP)
      return sig;
    try {
      auto policy = std::make_shared<const core::access_policy>(runtime::load_access_policy(cfg));
      log(log_level::info, "credentials_reloaded",
          {{"admin_tokens", policy->admin_tokens.size()}, {"client_keys", policy->keys.size()}});
      caf::anon_send(gateway, atom::access::value, core::access_policy_ptr{std::move(policy)});
    } catch (const std::invalid_argument& e) {
      log(log_level::error, "credentials_reload_refused", {{"error", e.what()}});
    }
  }
}

// A cluster member checks the node it was told to join, publishes its entry and claims
// its name before anything starts, so a wrong address, another cluster, another
// protocol, a port in use or a name in use ends here with the reason and harms nothing.
struct cluster_start {
  runtime::node_identity identity;
  node_hello hello;
  std::int64_t incarnation = 0;
  node_entry_control_actor entry;
  cluster::link_security security = cluster::link_security::tls;
};

cluster_start enter_cluster(caf::actor_system& sys, const runtime::node_config& cfg,
                            cluster::link_security security) {
  cluster_start member;
  member.security = security;
  member.identity = {cfg.node_name, cfg.cluster_listen,
                     cfg.listen_host + ":" + std::to_string(cfg.listen_port), EXPD_BUILD_VERSION,
                     cluster::protocol};
  runtime::cluster_store store{cfg.pg_url, cfg.lease};
  member.hello = {store.cluster_id(), cfg.node_name, cluster::protocol, EXPD_BUILD_VERSION};
  if (!cfg.join.empty()) {
    auto seed = cluster::connect_node(sys, cfg.join, security, member.hello, caf::actor{},
                                      std::chrono::seconds{5});
    if (!seed)
      throw start_refusal(cluster::error_text(sys, seed.error()));
    log(log_level::info, "join_checked", {{"join", cfg.join}, {"node", seed->hello.name}});
  }
  member.entry = cluster::spawn_node_entry(sys, member.hello);
  auto published = cluster::publish_entry(sys, caf::actor_cast<node_entry_actor>(member.entry),
                                          cfg.cluster_listen, security);
  if (!published)
    throw start_refusal("cannot listen for nodes on " + cfg.cluster_listen + ": "
                          + cluster::error_text(sys, published.error()));
  try {
    member.incarnation = store.join(member.identity, cfg.lease * 2);
  } catch (const runtime::cluster_error& e) {
    throw start_refusal(e.what());
  }
  return member;
}

// Everything from the journals' replay to the stop signal.
int serve(caf::actor_system& sys, const runtime::node_config& cfg, core::access_policy_ptr access,
          core::snapshot_ptr initial, const partition_keeper_config& partitions, int listen_fd,
          std::size_t max_connections, const std::optional<cluster_start>& member) {
  bool clustered = member.has_value();
  replay_journals(cfg);
  auto writer = sys.spawn<caf::detached>(
    assignment_writer, assignment_writer_config{cfg.pg_url, cfg.writer_batch,
                                                cfg.writer_interval, cfg.writer_max_queue,
                                                cfg.drain_timeout});
  // Beside the gateway by default: on 2 cores 0.80 of nginx's requests/s against 0.68 on
  // the scheduler, 12.3 against 14.0 us of CPU per request; the hand-offs to a worker and
  // back (pipe, futex, wake-ups) cost more than the shard's own work (docs/benchmarks.md).
  auto shard_placement = cfg.shards_on_io_thread ? shard_thread::io : shard_thread::scheduler;
  std::vector<assignment_shard_actor> shards;
  for (std::size_t i = 0; i < cfg.shards; ++i)
    shards.push_back(spawn_assignment_shard(sys, shard_placement, i, writer, initial,
                               std::make_unique<runtime::assignment_journal>(
                                 cfg.assignment_journal_dir, i)));
  // A member serves nothing until the membership actor has the ring and the slots.
  shard_router router = clustered ? shard_router{shards, std::make_shared<const core::shard_ring>(),
                                                 cfg.node_name, {}, {}, 0}
                                  : shard_router{shards};
  auto registry = sys.spawn<caf::detached>(experiment_registry, cfg.pg_url, initial, clustered);
  for (auto& shard : shards)
    caf::anon_send(registry, atom::subscribe::value, shard);

  // Eight or more segments fit under the limit, so releasing one frees a useful share.
  auto segment = std::clamp<std::uint64_t>(cfg.spool_max_bytes / 8, 1 << 20, 16 << 20);
  auto spool = std::make_unique<runtime::spool>(
    runtime::spool_config{cfg.spool_dir, segment, cfg.spool_max_bytes, cfg.spool_fsync});
  log(log_level::info, "spool_opened",
      {{"dir", cfg.spool_dir}, {"spool_id", spool->id().str()}, {"last_seq", spool->last_seq()}});
  archiver_actor archive;
  if (cfg.archive != "off") {
    archiver_config acfg;
    // A relative folder is taken from where expd starts, as --spool-dir is.
    acfg.store_url = cfg.archive.find("://") == std::string::npos
                       ? std::filesystem::absolute(cfg.archive).string()
                       : cfg.archive;
    acfg.pg_url = cfg.pg_url;
    acfg.spool_dir = cfg.spool_dir;
    acfg.spool_id = spool->id();
    acfg.interval = cfg.archive_interval;
    acfg.max_events = cfg.archive_max_events;
    archive = sys.spawn<caf::detached>(archiver, acfg);
  }
  auto loader = sys.spawn<caf::detached>(
    event_loader, event_loader_config{cfg.pg_url, cfg.spool_dir, spool->id()}, archive);
  auto reader = sys.spawn<caf::detached>(event_reader, cfg.pg_url);
  auto keeper = sys.spawn<caf::detached>(partition_keeper, partitions);
  ingestion_config icfg;
  icfg.limits.max_past = cfg.event_max_past_hours * 3600 * 1000000;
  icfg.limits.max_future = cfg.event_max_future_minutes * 60 * 1000000;
  if (clustered)
    icfg.pg_url = cfg.pg_url;
  // Detached: it blocks on fdatasync, and parsing events is the heaviest work per
  // request, which an actor the gateway wakes would otherwise do on the I/O thread
  // (docs/benchmarks.md).
  auto ingestor = sys.spawn<caf::detached>(ingestion, icfg, std::move(spool), loader, reader,
                                           router, static_cast<bool>(archive));
  if (archive)
    caf::anon_send(archive, atom::subscribe::value, caf::actor_cast<spool_writer_actor>(ingestor));
  caf::anon_send(registry, atom::subscribe::value, ingestor);

  caf::scoped_actor self{sys};
  membership_actor membership;
  std::vector<status_actor> cluster_reporters;
  if (clustered) {
    cluster::membership_config mcfg;
    mcfg.pg_url = cfg.pg_url;
    mcfg.identity = member->identity;
    mcfg.incarnation = member->incarnation;
    mcfg.hello = member->hello;
    mcfg.security = member->security;
    mcfg.lease = cfg.lease;
    mcfg.renew_interval = std::max(std::chrono::milliseconds{20}, cfg.lease / 5);
    mcfg.drain_timeout = cfg.drain_timeout;
    membership = cluster::spawn_membership(sys, mcfg, {shards, writer, member->entry, ingestor,
                                                       registry, loader});
    cluster_reporters.push_back(membership);
    log(log_level::info, "cluster_member",
        {{"node", cfg.node_name}, {"cluster_listen", cfg.cluster_listen},
         {"incarnation", member->incarnation},
         {"tls", member->security == cluster::link_security::tls}});
  } else {
    preload_assignments(self, cfg, router);
  }

  aggregator_config agg;
  agg.pg_url = cfg.pg_url;
  agg.interval = cfg.aggregate_interval;
  agg.store.max_past = icfg.limits.max_past;
  agg.store.include_unheld = cfg.aggregate_unheld;
  agg.registry = registry;
  auto aggregate = sys.spawn<caf::detached>(aggregator, agg);

  auto results = sys.spawn<caf::detached>(results_reader, cfg.pg_url);
  // On every node; each hands jobs only to the trainer workers registered on it.
  training_registry_config tcfg;
  tcfg.pg_url = cfg.pg_url;
  if (!cfg.mlflow_uri.empty()) {
    try {
      runtime::mlflow_config_from_uri(cfg.mlflow_uri);
      tcfg.tracker = spawn_training_tracker(sys, {cfg.pg_url, cfg.mlflow_uri});
    } catch (const std::exception& e) {
      throw start_refusal(std::string{"--mlflow: "} + e.what(), "mlflow_refused");
    }
  }
  auto training = spawn_training_registry(sys, tcfg);
  if (!cfg.trainer_listen.empty()) {
    std::pair<std::string, std::uint16_t> where;
    try {
      where = cluster::split_address(cfg.trainer_listen, "--trainer-listen");
    } catch (const std::invalid_argument& e) {
      throw start_refusal(e.what(), "trainer_listen_failed");
    }
    auto& [host, port] = where;
    auto published = sys.middleman().publish(training, port, host.c_str(), true);
    if (!published)
      throw start_refusal("cannot listen for trainer workers on " + cfg.trainer_listen + ": "
                            + cluster::error_text(sys, published.error()),
                          "trainer_listen_failed");
    log(log_level::info, "trainer_listen", {{"address", host + ":" + std::to_string(*published)}});
  }

  auto policies = spawn_policy_registry(sys, {cfg.pg_url, cfg.mlflow_uri});
  auto promotions = spawn_promotion_controller(sys, {cfg.pg_url, cfg.mlflow_uri, cfg.promotion_interval}, registry);

  dataset_builder_config dcfg;
  dcfg.build.pg_url = cfg.pg_url;
  dcfg.build.store_url = cfg.datasets.find("://") == std::string::npos
                           ? std::filesystem::absolute(cfg.datasets).string()
                           : cfg.datasets;
  dcfg.build.queries = runtime::embedded_dataset_queries();
  if (!cfg.dataset_query.empty()) {
    std::ifstream in(cfg.dataset_query, std::ios::binary);
    if (!in.is_open())
      throw start_refusal("--dataset-query: cannot open " + cfg.dataset_query, "dataset_query_unreadable");
    std::string query{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof())
      throw start_refusal("--dataset-query: cannot read " + cfg.dataset_query, "dataset_query_unreadable");
    dcfg.build.queries["planner"] = std::move(query);
  }
  dcfg.mlflow_uri = cfg.mlflow_uri;
  dataset_builder_actor datasets;
  try {
    datasets = spawn_dataset_builder(sys, dcfg);
  } catch (const std::exception& e) {
    throw start_refusal(std::string{"--datasets: "} + e.what(), "datasets_refused");
  }

  replay_runner_config rcfg;
  rcfg.pg_url = cfg.pg_url;
  // Stable across restarts, so a restart queues its own running replay again.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  rcfg.runner = !cfg.node_name.empty() ? cfg.node_name : "node@" + std::string{host} + ":" + std::to_string(cfg.listen_port);
  rcfg.mlflow_uri = cfg.mlflow_uri;
  rcfg.datasets = dcfg.build;
  rcfg.model_cache = std::filesystem::absolute(cfg.model_cache).string();
  rcfg.registry = training;
  rcfg.tokenize_binary = runtime::default_tokenize_binary();
  rcfg.poll_interval = cfg.replay_poll;
  auto replays = spawn_replay_runner(sys, rcfg);

  // On every node; each runs the runs it queued (named as the replays' runner, so a
  // restart resumes its own), and the unique slot key decides who queues one.
  auto pipelines = spawn_pipeline_scheduler(sys, {cfg.pg_url, rcfg.runner, cfg.pipeline_tick}, datasets, training);

  plan_server_config pcfg;
  pcfg.pg_url = cfg.pg_url;
  pcfg.mlflow_uri = cfg.mlflow_uri;
  pcfg.model_cache = rcfg.model_cache;
  pcfg.tokenize_binary = rcfg.tokenize_binary;
  pcfg.registry = training;
  pcfg.ingestion = ingestor;
  pcfg.max_new_tokens = cfg.plan_max_new_tokens;
  pcfg.usd_per_1k_tokens = cfg.plan_usd_per_1k_tokens;
  auto plans = spawn_plan_server(sys, pcfg);

  std::vector<status_actor> reporters{loader, reader, aggregate, results, keeper, training, policies, promotions,
                                      datasets, replays, pipelines, plans};
  if (tcfg.tracker)
    reporters.push_back(tcfg.tracker);
  reporters.insert(reporters.end(), cluster_reporters.begin(), cluster_reporters.end());
  if (archive)
    reporters.push_back(archive);
  gateway_config gw;
  gw.http = cfg.http;
  gw.access = std::move(access);
  gw.max_connections = max_connections;
  gw.health_connections = runtime::health_connections;
  gw.request_timeout = cfg.request_timeout;
  gw.slow_client_timeout = cfg.slow_client_timeout;
  gw.idle_timeout = cfg.idle_timeout;
  gw.dashboard = std::make_shared<const runtime::web_assets>(runtime::embedded_web_files(),
                                                             cfg.chartjs_path);
  if (!gw.dashboard->has_chartjs())
    log(log_level::warn, "dashboard_without_chartjs",
        {{"path", cfg.chartjs_path}, {"fix", "apt-get install libjs-chart.js or --chartjs-path"}});
  auto gate = sys.middleman().spawn_broker(gateway, listen_fd, gw,
                                           gateway_routes{registry, writer, router, ingestor, reporters, aggregate, results,
                                                          membership, training, policies, promotions,
                                                          datasets, replays, pipelines, plans});
  log(log_level::info, "expd_started",
      {{"listen", cfg.listen_host + ":" + std::to_string(cfg.listen_port)},
       {"shards", cfg.shards},
       {"experiments", initial->experiments().size()}});

  auto sig = wait_for_stop(cfg, gate);
  log(log_level::info, "expd_stopping", {{"signal", sig}});
  drain(self, cfg, gate, router, writer, membership);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  for (auto& shard : shards)
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ingestor, caf::exit_reason::user_shutdown);
  for (auto& a : reporters)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  // Published, so the middleman holds it; the actor system waits for it to end.
  if (member)
    caf::anon_send_exit(member->entry, caf::exit_reason::user_shutdown);
  log(log_level::info, "expd_stopped");
  return 0;
}

int run(const runtime::node_config& cfg, core::access_policy_ptr access) {
  migrate_when_reachable(cfg.pg_url);
  partition_keeper_config partitions;
  partitions.pg_url = cfg.pg_url;
  partitions.back = std::chrono::hours{cfg.event_max_past_hours};
  {
    runtime::event_store store{cfg.pg_url};
    prepare_event_partitions(store, partitions, runtime::now_micros());
  }
  runtime::experiment_store experiments{cfg.pg_url};
  runtime::saved_group_store groups{cfg.pg_url};
  auto initial = std::make_shared<const core::snapshot>(
    experiments.version(), experiments.load(), std::make_shared<const core::saved_group_set>(groups.load()));
  int listen_fd = runtime::open_listen_socket(cfg.listen_host, cfg.listen_port);
  // A connection is a descriptor: past the limit, accept() fails and clients hang.
  const auto descriptors = runtime::raise_descriptor_limit();
  const auto max_connections = runtime::fit_connection_limit(cfg.max_connections, descriptors);
  if (max_connections < cfg.max_connections)
    log(log_level::warn, "connection_limit_lowered",
        {{"max_connections", cfg.max_connections},
         {"effective_max_connections", max_connections},
         {"descriptor_limit", descriptors},
         {"reserved_descriptors", runtime::reserved_descriptors + runtime::health_connections + 1},
         {"fix", "raise the hard RLIMIT_NOFILE (ulimit -Hn, LimitNOFILE=) or lower --max-connections"}});

  caf::actor_system_config caf_cfg;
  caf_cfg.load<caf::io::middleman>();
  bool clustered = !cfg.node_name.empty();
  auto security = cfg.cluster_plain ? cluster::link_security::plain : cluster::link_security::tls;
  if (clustered && security == cluster::link_security::tls) {
    try {
      cluster::check_certificates(cfg.cluster_cert, cfg.cluster_key, cfg.cluster_ca);
    } catch (const std::invalid_argument& e) {
      std::cerr << "expd: " << e.what() << std::endl;
      return 2;
    }
    // CAF's manager reads these when the actor system starts, below.
    caf_cfg.load<caf::openssl::manager>();
    caf_cfg.openssl_certificate = cfg.cluster_cert;
    caf_cfg.openssl_key = cfg.cluster_key;
    caf_cfg.openssl_cafile = cfg.cluster_ca;
  }
  add_message_types(caf_cfg);
  // Requests run on the middleman's I/O thread, which needs a core of its own; the
  // scheduler gets the rest (measured on 2 cores: one worker beats two, see
  // docs/benchmarks.md).
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  caf_cfg.set("scheduler.max-threads",
              cfg.threads > 0 ? cfg.threads : std::max<std::size_t>(1, cores - 1));
  // One read per readable socket and loop turn: a request fits one read, and CAF's
  // default (up to 50) made every request a second recv(2) that only said EAGAIN.
  caf_cfg.set("middleman.max-consecutive-reads", std::size_t{1});
  caf::actor_system sys{caf_cfg};
  // Detached actors never end by themselves, so ~actor_system would wait for ever after
  // a failure once they run: such a failure ends the process at once, with its reason.
  try {
    std::optional<cluster_start> member;
    if (clustered)
      member = enter_cluster(sys, cfg, security);
    return serve(sys, cfg, std::move(access), std::move(initial), partitions, listen_fd,
                 max_connections, member);
  } catch (const start_refusal& e) {
    log(log_level::error, e.event, {{"error", e.what()}});
    std::cerr << "expd: " << e.what() << std::endl;
    std::fflush(nullptr);
    std::_Exit(2);
  } catch (const std::exception& e) {
    log(log_level::error, "expd_failed", {{"error", e.what()}});
    std::fflush(nullptr);
    std::_Exit(1);
  }
}

} // namespace

int main(int argc, char** argv) {
  // A child that died (expd-tokenize for replay) must be a write error, not the node's end.
  std::signal(SIGPIPE, SIG_IGN);
  runtime::node_config cfg;
  core::access_policy_ptr access;
  try {
    if (argc > 1 && (std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h")) {
      std::cout << runtime::node_usage();
      return 0;
    }
    cfg = runtime::parse_node_config(argc, argv);
    runtime::failpoints::arm(cfg.failpoints);
    access = std::make_shared<const core::access_policy>(runtime::load_access_policy(cfg));
  } catch (const std::invalid_argument& e) {
    std::cerr << "expd: " << e.what() << "\n" << runtime::node_usage();
    return 2;
  }
  runtime::set_log_level(runtime::parse_log_level(cfg.log_level));
  if (!cfg.failpoints.empty())
    log(log_level::warn, "failpoints_armed", {{"failpoints", cfg.failpoints}});
  // Before any thread starts, so every thread inherits the mask and only sigwait
  // sees SIGTERM, SIGINT and SIGHUP.
  runtime::block_control_signals();
  try {
    return run(cfg, std::move(access));
  } catch (const std::exception& e) {
    log(log_level::error, "expd_failed", {{"error", e.what()}});
    return 1;
  }
}
