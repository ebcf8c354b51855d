#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct training_registry_config {
  std::string pg_url;
  /// How often queued jobs are looked at again: jobs other nodes stored, cancels they
  /// asked for. Submits, registrations and outcomes dispatch at once.
  std::chrono::milliseconds dispatch_interval{1000};
  std::size_t list_limit = 100; ///< GET /admin/v1/training-jobs: the newest this many
  /// A running job whose registry has not said it still runs it for this long was lost
  /// with its node: it counts as a retriable failure (any registry records it).
  std::chrono::milliseconds abandoned_after{30000};
  /// Told of every run, its progress and each job's end, for MLflow; null: none.
  training_tracker_actor tracker;
};

/// Spawns the node's training registry (detached: it blocks on PostgreSQL). It checks
/// and stores submitted jobs (exp.training_jobs), hands queued ones to the idle trainer
/// workers registered on this node only (a job's ranks all on this node), records their
/// progress and log, and decides with core/training_schedule what a job becomes when
/// its ranks report: a retriable failure is queued again, to resume from its latest
/// checkpoint, up to the job's max_failures. A worker that dies fails its job's run,
/// retriably, and so does a job whose registry went quiet (its node died). docs/gpu.md,
/// "Training jobs".
training_registry_actor spawn_training_registry(caf::actor_system& sys,
                                                training_registry_config cfg);

} // namespace expd
