#pragma once

#include <caf/actor_system.hpp>

#include "gpu/training_run.hpp"
#include "messages/actors.hpp"

namespace expd::gpu {

/// A trainer worker: offers itself to `registry` (atom::subscribe), runs each job it is
/// handed on a thread of its own (run_training), passes the run's reports on as its own
/// and quits when the registry goes (its node stopped or the link broke).
trainer_worker_actor spawn_trainer_worker(caf::actor_system& sys, training_registry_actor registry,
                                          training_run_config cfg);

} // namespace expd::gpu
