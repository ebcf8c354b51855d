#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/event_store.hpp"

namespace expd {

struct partition_keeper_config {
  std::string pg_url;
  /// The window of days kept ready, around now: every day an accepted event can have
  /// (--event-max-past-hours back, the future limit is minutes) and a week ahead.
  std::chrono::hours back{168};
  std::chrono::hours ahead{7 * 24};
  std::chrono::milliseconds interval{3600 * 1000}; ///< between passes
  std::chrono::milliseconds retry{60 * 1000};      ///< after a pass that waited in vain
  std::chrono::milliseconds lock_timeout{2000};    ///< longest wait for a day's locks
};

struct partition_keeper_state {
  static inline const char* name = "partition_keeper";

  partition_keeper_config cfg;
  std::unique_ptr<runtime::event_store> store;
  bool tick_scheduled = false;
  std::uint64_t created = 0, waits = 0, failures = 0;
  std::uint64_t missing = 0; ///< days of the window without their partition after the last pass
};

/// One pass now: the partitions of the window around `now`. node/main.cpp runs it
/// before the port opens, so the first events find their day.
runtime::event_store::partition_pass prepare_event_partitions(runtime::event_store& store,
                                                              const partition_keeper_config& cfg,
                                                              core::unix_micros now);

/// Runs detached: repeats the pass every `interval`, sooner after one that waited for
/// a lock in vain (a reader's long query), and never on the loader's path: an event of
/// a day still missing lands in exp.events_default rather than waiting.
partition_keeper_actor::behavior_type
partition_keeper(partition_keeper_actor::stateful_pointer<partition_keeper_state> self,
                 partition_keeper_config cfg);

} // namespace expd
