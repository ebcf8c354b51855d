#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/actors.hpp"
#include "runtime/spool.hpp"

namespace expd {

struct spool_writer_state {
  static inline const char* name = "spool_writer";

  std::unique_ptr<runtime::spool> spool;
  event_loader_actor loader;
  bool archive_enabled = false;
  std::uint64_t loaded = 0;   ///< consumers' progress: segments below both go
  std::uint64_t archived = 0;
  std::vector<caf::typed_response_promise<spool_ack>> waiting; ///< appended, not yet committed
  bool flush_scheduled = false;
  std::uint64_t appended = 0;
  std::uint64_t commits = 0;
  std::uint64_t refused = 0;
};

/// Runs detached: owns the spool. Appends are acknowledged together after one commit
/// (group commit): the flush message it sends itself queues behind every append
/// already waiting, so one fdatasync covers them all.
spool_writer_actor::behavior_type
spool_writer(spool_writer_actor::stateful_pointer<spool_writer_state> self,
             std::unique_ptr<runtime::spool> spool, event_loader_actor loader,
             bool archive_enabled);

} // namespace expd
