#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/shard_router.hpp"
#include "core/event.hpp"
#include "messages/actors.hpp"
#include "runtime/assignment_store.hpp"
#include "runtime/spool.hpp"

namespace expd {

struct ingestion_config {
  core::event_limits limits;
  std::size_t max_batch = 1000;        ///< events in one request
  std::chrono::seconds retry_after{5}; ///< told to clients while the spool is full
  /// How long the shards may take to say which variants units hold (events sent
  /// without "experiments"); past it the events are spooled without.
  std::chrono::milliseconds attach_timeout{500};
  /// Where the variants of units whose slot is moving between nodes are read (a
  /// cluster member); empty: such events get none.
  std::string pg_url;
};

struct ingestion_state {
  static inline const char* name = "ingestion";

  ingestion_config cfg;
  core::event_catalog_ptr catalog;
  std::unique_ptr<runtime::spool> spool;
  event_loader_actor loader;
  event_reader_actor reader;
  shard_router shards; ///< asked for the variants of events without "experiments"
  bool archive_enabled = false;
  std::uint64_t loaded = 0; ///< consumers' progress: segments below both go
  std::uint64_t archived = 0;
  /// Requests whose events are appended but not yet committed, with their answers.
  std::vector<std::pair<caf::typed_response_promise<api_reply>, api_reply>> waiting;
  bool flush_scheduled = false;
  std::uint64_t accepted = 0, rejected = 0, refused_full = 0, commits = 0;
  std::uint64_t attached = 0, attach_failed = 0, attached_from_store = 0;
  std::unique_ptr<runtime::assignment_store> assignments; ///< with cfg.pg_url
};

/// The front of event ingestion and the owner of the spool: parses and validates each
/// event of a request against the newest catalog, attaches to an event sent without
/// "experiments" the variants its unit holds (asking the unit's shard, or PostgreSQL
/// while the unit's slot moves between nodes), appends the
/// good ones to the spool
/// and answers once they are on disk, with the index, field and reason of every
/// rejected one. Runs detached. Appends are acknowledged together after one commit
/// (group commit): the flush message it sends itself queues behind every request
/// already waiting, so one fdatasync covers them all, and no other thread sits between
/// a request and its answer.
ingestion_actor::behavior_type
ingestion(ingestion_actor::stateful_pointer<ingestion_state> self, ingestion_config cfg,
          std::unique_ptr<runtime::spool> spool, event_loader_actor loader,
          event_reader_actor reader, shard_router shards, bool archive_enabled);

} // namespace expd
