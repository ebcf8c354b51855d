#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/aggregate_store.hpp"
#include "runtime/experiment_store.hpp"

namespace expd {

struct results_reader_state {
  static inline const char* name = "results_reader";

  std::unique_ptr<runtime::aggregate_store> aggregates;
  std::unique_ptr<runtime::experiment_store> experiments;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
};

/// Runs detached (every answer blocks on PostgreSQL). Reads aggregate rows only, never
/// events, and leaves the statistics to core/experiment_results.
results_reader_actor::behavior_type
results_reader(results_reader_actor::stateful_pointer<results_reader_state> self,
               std::string pg_url);

} // namespace expd
