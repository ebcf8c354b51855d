#pragma once

#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/event_store.hpp"

namespace expd {

struct event_reader_state {
  static inline const char* name = "event_reader";

  std::unique_ptr<runtime::event_store> store;
  std::uint64_t queries = 0;
};

/// Runs detached: answers GET /v1/events from PostgreSQL, so a slow query delays
/// neither the loader nor the scheduler's threads.
event_reader_actor::behavior_type
event_reader(event_reader_actor::stateful_pointer<event_reader_state> self, std::string pg_url);

} // namespace expd
