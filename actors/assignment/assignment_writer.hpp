#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/assignment_store.hpp"

namespace expd {

struct assignment_writer_config {
  std::string pg_url;
  std::size_t batch = 1000;                  ///< rows per transaction
  std::chrono::milliseconds interval{50};    ///< longest a row waits while traffic is low
  std::size_t max_queue = 1000000;           ///< rows held while PostgreSQL is away
  std::chrono::milliseconds drain_timeout{30000};
};

/// Where the rows a shard handed over end in the queue: once every row before `end`
/// has left the queue stored, that shard's journal is done with records up to `seq`.
struct journal_mark {
  std::uint64_t end; ///< in rows ever queued
  assignment_shard_actor shard;
  std::uint64_t seq;
};

struct assignment_writer_state {
  static inline const char* name = "assignment_writer";

  assignment_writer_config cfg;
  std::unique_ptr<runtime::assignment_store> store;
  std::deque<core::assignment_record> queue;
  std::deque<journal_mark> marks;
  std::uint64_t queued = 0;  ///< rows ever queued
  std::uint64_t removed = 0; ///< rows ever taken off the queue's front
  /// Shards some of whose rows were shed: their journals keep every record until the
  /// next start writes them.
  std::vector<assignment_shard_actor> holding;
  bool tick_scheduled = false;
  std::chrono::milliseconds backoff{0}; ///< grows while PostgreSQL fails
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t failures = 0;
};

/// Runs detached: every call into PostgreSQL blocks this actor's own thread only.
assignment_writer_actor::behavior_type
assignment_writer(assignment_writer_actor::stateful_pointer<assignment_writer_state> self,
                  assignment_writer_config cfg);

} // namespace expd
