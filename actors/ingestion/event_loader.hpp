#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/event_store.hpp"
#include "runtime/spool.hpp"

namespace expd {

struct event_loader_config {
  std::string pg_url;
  std::filesystem::path spool_dir;
  core::uuid spool_id;
  std::size_t batch = 5000; ///< events per COPY transaction
  /// Pause after a partial batch: at most this much is added to an event's way into
  /// PostgreSQL (it is durable in the spool already), and trickles load in bulk.
  std::chrono::milliseconds linger{20};
};

struct event_loader_state {
  static inline const char* name = "event_loader";

  event_loader_config cfg;
  std::unique_ptr<runtime::event_store> store;
  std::unique_ptr<runtime::spool_reader> reader;
  spool_writer_actor writer;  ///< learnt from its first message
  archiver_actor archiver;    ///< told what is loaded; unset when archiving is off
  std::uint64_t committed = 0; ///< spooled and durable
  std::uint64_t loaded = 0;    ///< in PostgreSQL
  bool cursor_known = false;
  bool tick_scheduled = false;
  std::chrono::milliseconds backoff{0};
  std::uint64_t stored = 0;
  std::uint64_t skipped = 0;
  std::uint64_t failures = 0;
  std::uint64_t batches = 0;
};

/// Runs detached: reads the spool in order and loads it into exp.events with COPY,
/// as fast as PostgreSQL takes it: a batch is whatever arrived while the previous one
/// was written or, when little arrives, during the linger after a partial batch. While
/// PostgreSQL is away it retries with backoff; the spool keeps everything meanwhile.
event_loader_actor::behavior_type
event_loader(event_loader_actor::stateful_pointer<event_loader_state> self,
             event_loader_config cfg, archiver_actor archiver);

} // namespace expd
