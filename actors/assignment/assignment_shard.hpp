#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/assignment_book.hpp"
#include "messages/actors.hpp"
#include "runtime/assignment_journal.hpp"

namespace expd {

struct assignment_shard_state {
  static inline const char* name = "assignment_shard";

  std::size_t index = 0;
  assignment_writer_actor writer;
  std::size_t flush_batch = 256;
  std::chrono::milliseconds flush_interval{20};

  core::assignment_book book;
  std::unique_ptr<runtime::assignment_journal> journal;
  std::uint64_t journaled = 0;       ///< number of the last journal record written
  std::uint64_t journal_failures = 0;
  assignment_batch pending; ///< first-time rows not yet handed to the writer
  bool flush_scheduled = false;
  std::vector<core::served_assignment> scratch;
  std::unordered_map<core::uuid, std::uint64_t> served; ///< per variant
  std::unordered_map<core::uuid, std::uint64_t> fresh;  ///< per variant

  /// Under a barrier: experiments whose first-time assignments are stored before the
  /// reply, until a snapshot newer than `through_below` or `through_until`.
  std::unordered_set<core::uuid> through;
  std::uint64_t through_below = 0;
  std::chrono::steady_clock::time_point through_until{};
  std::uint64_t written_through = 0;
};

/// Spawns with the snapshot current at start-up so preloading can begin at once, and
/// with its own journal, which every first-time assignment enters before the reply.
assignment_shard_actor::behavior_type
assignment_shard(assignment_shard_actor::stateful_pointer<assignment_shard_state> self,
                 std::size_t index, assignment_writer_actor writer, core::snapshot_ptr snap,
                 std::unique_ptr<runtime::assignment_journal> journal);

/// Which thread a shard's work runs on.
enum class shard_thread {
  scheduler, ///< CAF's worker threads, beside other actors
  io,        ///< the middleman's I/O thread, as a broker without connections, beside the
             ///< gateway: a request and its reply then cross no thread
};

/// Spawns assignment_shard on `where`.
assignment_shard_actor spawn_assignment_shard(caf::actor_system& sys, shard_thread where,
                                              std::size_t index, assignment_writer_actor writer,
                                              core::snapshot_ptr snap,
                                              std::unique_ptr<runtime::assignment_journal> journal);

} // namespace expd
