#pragma once

#include <cstdint>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"

// Every typed actor interface of expd. A handler's comment says what it does. One that
// answers api_reply refuses with a caf::error of messages/error.hpp instead, which the
// gateway turns into HTTP.
namespace expd {

class shard_router; // messages/shard_router.hpp: a value of handles, so it includes this

/// Shared by every long-lived actor.
using status_actor = caf::typed_actor<
  // Reports counters and queue depths.
  caf::replies_to<atom::status>::with<status_record>>;

/// Persists first-time assignments to exp.assignments, write-behind, in batches.
using assignment_writer_actor = status_actor::extend<
  // Queues rows from the sending shard, whose journal holds them up to the record
  // number given (0: none); never blocks the sender. Once they are stored the writer
  // answers the shard with atom::stored.
  caf::reacts_to<atom::record, assignment_batch, std::uint64_t>,
  // Writes everything queued; answers with the rows still unwritten, shed ones
  // included (0 = drained: the shards' journals are no longer needed).
  caf::replies_to<atom::drain>::with<std::uint64_t>,
  // The same within this many milliseconds: a barrier's or a held reply's wait.
  caf::replies_to<atom::drain, std::int64_t>::with<std::uint64_t>>;

/// What answers for a unit, on this node or another: a local shard or a node's entry.
using shard_access_actor = caf::typed_actor<
  // Answers POST /v1/assign for one unit.
  caf::replies_to<atom::assign, core::assign_request>::with<api_reply>,
  // The variants the units hold, for events sent without "experiments"; assigns nothing.
  caf::replies_to<atom::held, unit_refs>::with<held_variants_list>,
  // Before a change moves buckets: stores what was assigned so far and the barrier's
  // experiments' first-time assignments from now on before answering; true once stored
  // (a node's entry: once all its shards have).
  caf::replies_to<atom::barrier, assignment_barrier>::with<bool>>;

/// Owns the units whose id hashes to it: targeting, bucketing, sticky variants.
using assignment_shard_actor = status_actor::extend<
  // Answers POST /v1/assign for one unit.
  caf::replies_to<atom::assign, core::assign_request>::with<api_reply>,
  // Installs a newer experiments snapshot.
  caf::reacts_to<atom::snapshot, core::snapshot_ptr>,
  // Loads stored assignments at start-up; answers with the sticky entries held.
  caf::replies_to<atom::remember, assignment_batch>::with<std::uint64_t>,
  // Hands buffered first-time assignments to the writer now.
  caf::replies_to<atom::flush>::with<bool>,
  // From the writer: the shard's journal records up to this number are in PostgreSQL.
  caf::reacts_to<atom::stored, std::uint64_t>,
  // The variants the units hold, for events sent without "experiments"; assigns nothing.
  caf::replies_to<atom::held, unit_refs>::with<held_variants_list>,
  // Before a change moves buckets: as shard_access_actor's.
  caf::replies_to<atom::barrier, assignment_barrier>::with<bool>>;

/// The owner of the local spool every accepted event enters before it is acknowledged
/// (the ingestion actor).
using spool_writer_actor = status_actor::extend<
  // Internal: commits everything appended since the last commit (group commit).
  caf::reacts_to<atom::flush>,
  // A consumer has everything up to seq; segments all consumers passed are deleted.
  caf::reacts_to<atom::consumed, spool_consumer, std::uint64_t>>;

/// Moves spooled events into exp.events with COPY, in order.
using event_loader_actor = status_actor::extend<
  // The spool has committed records up to seq.
  caf::reacts_to<atom::spooled, std::uint64_t>,
  // Internal: loads the next batch.
  caf::reacts_to<atom::tick>>;

/// Copies loaded events to object storage in compressed hourly files with manifests.
using archiver_actor = status_actor::extend<
  // PostgreSQL holds the spool's records up to seq (their duplicates are known).
  caf::reacts_to<atom::spooled, std::uint64_t>,
  // Internal: gathers and, when due, writes a chunk.
  caf::reacts_to<atom::tick>,
  // Where to report progress, so consumed spool segments can go.
  caf::reacts_to<atom::subscribe, spool_writer_actor>>;

/// Makes the daily partitions of exp.events ahead of the events that need them.
using partition_keeper_actor = status_actor::extend<
  // Internal: the periodic pass.
  caf::reacts_to<atom::tick>>;

/// Answers GET /v1/events from PostgreSQL (blocking, so apart from the loader).
using event_reader_actor = status_actor::extend<
  caf::replies_to<atom::query, core::event_query>::with<api_reply>>;

/// Keeps exp.metric_aggregates and exp.exposure_aggregates current: a periodic pass
/// over events received since the last, and recomputes of a window on demand.
using aggregator_actor = status_actor::extend<
  // Internal: runs the periodic pass.
  caf::reacts_to<atom::tick>,
  // POST /admin/v1/aggregate: recomputes [from, to) (UTC microseconds, already
  // validated) and answers what it wrote.
  caf::replies_to<atom::aggregate, core::unix_micros, core::unix_micros>::with<api_reply>>;

/// Answers what people read of the aggregates: results with their statistics, trend
/// series and the experiment list (blocking reads, so detached; apart from the
/// aggregator, so a long recompute never holds up a dashboard).
using results_reader_actor = status_actor::extend<
  // GET /v1/experiments/{id}/results: the experiment id (a UUID, checked), the query,
  // and whether the caller may see drafts (a draft is 404 to anyone else).
  caf::replies_to<atom::results, std::string, std::string, bool>::with<api_reply>,
  // GET /v1/experiments/{id}/series: the experiment id, the query, drafts visible.
  caf::replies_to<atom::series, std::string, std::string, bool>::with<api_reply>,
  // GET /v1/experiments: every experiment (drafts only when the flag says so) with its
  // status, exposures and SRM check.
  caf::replies_to<atom::list, bool>::with<api_reply>>;

/// Validates events against the catalog, spools them and acknowledges.
using ingestion_actor = spool_writer_actor::extend<
  // POST /v1/events: the body.
  caf::replies_to<atom::ingest, std::string>::with<api_reply>,
  // GET /v1/events: the query string.
  caf::replies_to<atom::query, std::string>::with<api_reply>,
  // Installs a newer catalog (event types and experiments).
  caf::reacts_to<atom::catalog, core::event_catalog_ptr>,
  // Installs newer routing (a cluster member: which node holds which unit).
  caf::reacts_to<atom::routing, shard_router>>;

/// Source of truth for experiments and saved groups: applies documents, changes
/// statuses, and pushes a new snapshot to every subscribed shard on each change.
using experiment_registry_actor = status_actor::extend<
  // POST /admin/v1/experiments/apply: the JSON document, and whether it is a dry run.
  caf::replies_to<atom::apply, std::string, bool>::with<api_reply>,
  // GET /admin/v1/experiments.
  caf::replies_to<atom::list>::with<api_reply>,
  // POST /admin/v1/experiments/{name}/status: the name and the JSON body.
  caf::replies_to<atom::set_status, std::string, std::string>::with<api_reply>,
  // Another node changed the experiments or event types: load them again and publish;
  // answers the snapshot version now served.
  caf::replies_to<atom::reload>::with<std::uint64_t>,
  // A cluster member's newest routing: whose shards a change that moves buckets waits for.
  caf::reacts_to<atom::routing, shard_router>,
  // GET /health: checks PostgreSQL.
  caf::replies_to<atom::health>::with<api_reply>,
  // Sends the current snapshot to the shard now and every new one later.
  caf::reacts_to<atom::subscribe, assignment_shard_actor>,
  // Sends the current event catalog to the ingestion actor now and on every change.
  caf::reacts_to<atom::subscribe, ingestion_actor>,
  // POST /admin/v1/event-types/apply: the JSON document, and whether it is a dry run.
  caf::replies_to<atom::apply_types, std::string, bool>::with<api_reply>,
  // GET /admin/v1/event-types.
  caf::replies_to<atom::list_types>::with<api_reply>,
  // POST /admin/v1/saved-groups/apply: the JSON document, and whether it is a dry run.
  // Refused when a group would not compile or an experiment's condition would not
  // compile with the groups; a change reaches every shard in the next snapshot.
  caf::replies_to<atom::apply_groups, std::string, bool>::with<api_reply>,
  // GET /admin/v1/saved-groups.
  caf::replies_to<atom::list_groups>::with<api_reply>,
  // DELETE /admin/v1/saved-groups/{name}: refused while an experiment's or another
  // group's condition names it.
  caf::replies_to<atom::drop_group, std::string>::with<api_reply>>;

/// A node's door for the other nodes (published on --cluster-listen): requests for the
/// units of the slots it owns, refused with not_owner for any other.
/// A linking node says who it is and hands over its own entry, so the pair shares one
/// connection (null from the join check); the answer says who this node is. The entry
/// travels untyped: a typed interface cannot name itself.
using node_entry_actor = shard_access_actor::extend<
  caf::replies_to<atom::hello, node_hello, caf::actor>::with<node_hello>>;

/// The entry as its own node holds it: the published interface plus what the
/// membership actor tells it (never published, so never reachable from another node).
using node_entry_control_actor = node_entry_actor::extend<
  // The newest routing: which slots this node owns and has taken over.
  caf::reacts_to<atom::routing, shard_router>,
  // Until when (steady clock, nanoseconds) this node's lease lets it answer.
  caf::reacts_to<atom::lease, std::int64_t>,
  // The membership actor (untyped: its interface names this one), told of the nodes
  // that link to this one.
  caf::reacts_to<atom::subscribe, caf::actor>>;

/// Keeps this node's place in the cluster (cluster/membership): renews its lease in
/// PostgreSQL, installs newer rings, hands slots over and links to the other nodes.
using membership_actor = status_actor::extend<
  // Internal: the periodic renewal and reconcile.
  caf::reacts_to<atom::tick>,
  // GET /v1/cluster: every node, its state, slots and figures, and the ring.
  caf::replies_to<atom::nodes>::with<api_reply>,
  // POST /admin/v1/cluster/nodes/{name}/drain: moves that node's slots away.
  caf::replies_to<atom::drain_node, std::string>::with<api_reply>,
  // POST /admin/v1/cluster/nodes/{name}/forget: removes a node that is down for good.
  caf::replies_to<atom::forget_node, std::string>::with<api_reply>,
  // SIGTERM: moves this node's slots away; answers once they are released.
  caf::replies_to<atom::leave>::with<bool>,
  // A gateway: sends it the routing and the lease now and on every change.
  caf::reacts_to<atom::subscribe, caf::actor>,
  // Internal: a link to the named node was made (a null entry: the attempt failed).
  caf::reacts_to<atom::linked, std::string, node_entry_actor>>;

/// What the gpu/ trainer worker implements (one per GPU, or per CPU rank). It registers
/// with the node's training registry (atom::subscribe), runs one job at a time, and
/// reports to the registry with atom::progress and, once, atom::finished.
using trainer_worker_actor = status_actor::extend<
  // Runs rank `rank` of `world_size` of a job: its id, its spec (JSON as
  // core::training_job_json writes it), the checkpoint to resume from (empty: from the
  // start) and the run (the job's failures so far: each retry's ranks meet afresh). The
  // ranks of one run meet through c10d keyed by the job and the run.
  caf::reacts_to<atom::train, std::string, std::string, std::string, std::uint32_t,
                 std::uint32_t, std::uint32_t>,
  // Stops the job soon; the worker then reports it finished as cancelled.
  caf::reacts_to<atom::cancel, std::string>,
  // Internal: its run's reports, which it passes on to the registry as its own.
  caf::reacts_to<atom::progress, training_progress>,
  caf::reacts_to<atom::finished, training_outcome>>;

/// Logs the node's training runs to MLflow (actors/training/training_tracker): what the
/// registry tells it of each job becomes the job's MLflow run, and a successful job a new
/// version of its registered model. MLflow being away delays the logging, never the job.
using training_tracker_actor = status_actor::extend<
  // A run of a job began: the job's id, its spec (JSON) and the run number.
  caf::reacts_to<atom::train, std::string, std::string, std::uint32_t>,
  // Rank 0's report of a step.
  caf::reacts_to<atom::progress, training_progress>,
  // The job ended: its id, its final status ("succeeded", "failed", "cancelled") and error.
  caf::reacts_to<atom::finished, std::string, std::string, std::string>,
  // Internal: the periodic retry of what MLflow did not take.
  caf::reacts_to<atom::tick>>;

/// gpu/'s inference worker (expd-trainer --inference-model): gathers concurrent
/// requests into batches (a batch size and a wait bound), generates with the model it
/// loaded at spawn and answers each request on its own (docs/gpu.md, "Batched inference").
using inference_actor = status_actor::extend<
  // Generates a completion of the request's prompt. Refused at once, naming the
  // field: ec::invalid_field for a value no request may have, ec::over_limit for one
  // over the worker's caps (a prompt longer than the model takes), ec::overloaded when
  // its queue is full; a batch that fails answers ec::unavailable.
  caf::replies_to<atom::generate, core::generation_request>::with<generation_result>,
  // Internal: the oldest queued request's wait bound has passed.
  caf::reacts_to<atom::tick>>;

/// gpu/'s model host (expd-trainer --registry): loads registered model versions when
/// asked and serves each with an inference worker of its own, at most --max-models at
/// once (the one asked for least recently is stopped first).
using model_host_actor = status_actor::extend<
  // The inference worker serving the request's model, loaded first (seconds) unless it
  // is loaded already. A model that cannot load (a missing or malformed checkpoint or
  // adapter) is refused with ec::invalid_field naming the file or tensor, and the host
  // stays up.
  caf::replies_to<atom::load, model_load_request>::with<inference_actor>>;

/// The node's training jobs (actors/training): stores them in exp.training_jobs, hands
/// queued ones to idle trainer workers of this node, records their progress and
/// retries a retriable failure from the latest checkpoint up to the job's max_failures.
using training_registry_actor = status_actor::extend<
  // POST /admin/v1/training-jobs: the JSON body, and whether it is a dry run; 201 with
  // the job (200 and no job stored for a dry run).
  caf::replies_to<atom::submit, std::string, bool>::with<api_reply>,
  // GET /admin/v1/training-jobs: the newest jobs.
  caf::replies_to<atom::list>::with<api_reply>,
  // GET /admin/v1/training-jobs/{id}: the id, a UUID (checked).
  caf::replies_to<atom::get, std::string>::with<api_reply>,
  // GET /admin/v1/training-jobs/{id}/logs: the id, the rows after this seq, at most this many.
  caf::replies_to<atom::logs, std::string, std::uint64_t, std::uint32_t>::with<api_reply>,
  // POST /admin/v1/training-jobs/{id}/cancel: a queued job is cancelled at once, a
  // running one once its workers confirm (202).
  caf::replies_to<atom::cancel, std::string>::with<api_reply>,
  // From a worker: how its job goes.
  caf::reacts_to<atom::progress, training_progress>,
  // From a worker: its run of the job ended; the worker is idle again.
  caf::reacts_to<atom::finished, training_outcome>,
  // A trainer worker of this node offers itself (monitored: its death fails its job's run).
  caf::reacts_to<atom::subscribe, trainer_worker_actor>,
  // A model host of this node offers itself (monitored).
  caf::reacts_to<atom::subscribe, model_host_actor>,
  // Passes the request to a model host of this node, the same one for the same key so
  // a model loads once; ec::unavailable when none is registered.
  caf::replies_to<atom::load, model_load_request>::with<inference_actor>,
  // Internal: the periodic dispatch (jobs other nodes stored, cancels they asked for).
  caf::reacts_to<atom::tick>>;

/// Policies and their versions (actors/lifecycle/policy_registry): applies policies
/// documents in one transaction, each new version checked against MLflow's model
/// registry (a version must name a model version MLflow has).
using policy_registry_actor = status_actor::extend<
  // POST /admin/v1/policies/apply: the JSON document, and whether it is a dry run.
  caf::replies_to<atom::apply, std::string, bool>::with<api_reply>,
  // GET /admin/v1/policies.
  caf::replies_to<atom::list>::with<api_reply>>;

/// Promotions of candidate models (actors/lifecycle/promotion_controller): starts one as
/// a small variant of an experiment, then every pass reads the experiment's results and
/// raises, holds, rolls back or completes it (core/promotion.cpp decides).
using promotion_controller_actor = status_actor::extend<
  // POST /admin/v1/promotions: the JSON body; 201 with the promotion.
  caf::replies_to<atom::submit, std::string>::with<api_reply>,
  // GET /admin/v1/promotions: the newest promotions.
  caf::replies_to<atom::list>::with<api_reply>,
  // GET /admin/v1/promotions/{id}: one, with every step it took (the id a UUID, checked).
  caf::replies_to<atom::get, std::string>::with<api_reply>,
  // GET /v1/experiments/{id}/promotions: an experiment's promotions with their steps
  // (the id a UUID, checked), for the dashboard.
  caf::replies_to<atom::list, std::string>::with<api_reply>,
  // Internal: the periodic pass over active promotions.
  caf::reacts_to<atom::tick>>;
/// Datasets from events (actors/lifecycle/dataset_builder): joins exp.events with the
/// domain tables, writes the Parquet file and its manifest to the dataset store and the
/// version to exp.datasets; with --mlflow, logs the version to MLflow.
using dataset_builder_actor = status_actor::extend<
  // POST /admin/v1/datasets: the checked request; 201 with the new version's manifest,
  // 200 with the stored one when that day's build of the same rows exists.
  caf::replies_to<atom::build, core::dataset_build_request>::with<api_reply>,
  // GET /admin/v1/datasets: every version, newest first.
  caf::replies_to<atom::list>::with<api_reply>,
  // GET /admin/v1/datasets/{name}/{version}: its manifest.
  caf::replies_to<atom::get, std::string, std::string>::with<api_reply>>;

/// Offline replays (actors/lifecycle/replay_runner): stores each request in exp.replays
/// and runs the cluster's queued replays, one at a time per node, through the inference
/// workers of the node's model hosts; writes the scores to exp.offline_replay_results
/// and, when the candidate passes, tags it stage=candidate with the @candidate alias.
using replay_runner_actor = status_actor::extend<
  // POST /admin/v1/replays: the JSON body; 202 with the queued replay.
  caf::replies_to<atom::submit, std::string>::with<api_reply>,
  // GET /admin/v1/replays: the newest replays.
  caf::replies_to<atom::list>::with<api_reply>,
  // GET /admin/v1/replays/{id}: one, with its scores (the id a UUID, checked).
  caf::replies_to<atom::get, std::string>::with<api_reply>,
  // Internal: claims a queued replay when idle; keeps the running one's heartbeat.
  caf::reacts_to<atom::tick>,
  // Internal: the running replay ended: its id, and why it failed (empty: it finished).
  caf::reacts_to<atom::finished, std::string, std::string>>;

/// One registered model version served to POST /v1/plan (actors/serving/plan_model):
/// fetched from MLflow into the model cache, tokenised by an expd-tokenize process of
/// its own and generated by the inference worker a model host of this node loads it in.
using plan_model_actor = status_actor::extend<
  // The completion of the input; requests that arrive while the model loads wait. A
  // model that cannot load refuses every request (ec::unavailable) and the actor ends.
  caf::replies_to<atom::generate, plan_generation>::with<plan_completion>,
  // What it serves as JSON: the version, whether loaded, counts, and the drift of the
  // requests' features against its training dataset's.
  caf::replies_to<atom::get>::with<std::string>,
  // Internal: retries the load while no model host has registered yet.
  caf::reacts_to<atom::load>>;

/// Reads what a plan needs from PostgreSQL (actors/serving/plan_server; blocking, so
/// detached): the request's input rendered from the domain tables, and the model its
/// policy version names. Refuses with ec::not_found naming the field at fault.
using plan_reader_actor = caf::typed_actor<
  // The request's input, and its variant config's policy_version_id.
  caf::replies_to<atom::prepare, core::plan_input, std::string>::with<plan_preparation>>;

/// POST /v1/plan (actors/serving/plan_server): for a request whose unit the gateway has
/// assigned, the plan from the variant's model, and the plan_generated event logged.
using plan_server_actor = status_actor::extend<
  // The request and the assignment that serves it; 200 with the plan.
  caf::replies_to<atom::plan, core::plan_request, core::plan_assignment>::with<api_reply>,
  // GET /v1/plan/models: the model versions this node serves, each with its drift.
  caf::replies_to<atom::list>::with<api_reply>>;

/// Pipelines on a schedule (actors/lifecycle/pipeline_scheduler): applies pipelines
/// documents, queues a run when a pipeline's cron slot comes (or when asked), and runs
/// each run's steps in order through the dataset builder and the training registry,
/// recording every step in exp.pipeline_runs so a restart resumes what was under way.
using pipeline_scheduler_actor = status_actor::extend<
  // POST /admin/v1/pipelines/apply: the JSON document, and whether it is a dry run.
  caf::replies_to<atom::apply, std::string, bool>::with<api_reply>,
  // GET /admin/v1/pipelines: every pipeline with its next slot and latest run.
  caf::replies_to<atom::list>::with<api_reply>,
  // GET /admin/v1/pipelines/{name}/runs (an unknown name is 404); "" for
  // GET /admin/v1/pipeline-runs, every pipeline's. The newest first.
  caf::replies_to<atom::runs, std::string>::with<api_reply>,
  // POST /admin/v1/pipelines/{name}/trigger: queues a manual run now; 202 with it.
  caf::replies_to<atom::trigger, std::string>::with<api_reply>,
  // GET /admin/v1/pipeline-runs/{id}: one run with its steps (the id a UUID, checked).
  caf::replies_to<atom::get, std::string>::with<api_reply>,
  // Internal: the periodic look for due runs (the first also resumes unfinished ones).
  caf::reacts_to<atom::tick>,
  // Internal: the next move of the run with this id (a training job's next look).
  caf::reacts_to<atom::advance, std::string>>;

} // namespace expd
