#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/archive_layout.hpp"
#include "messages/actors.hpp"
#include "runtime/event_store.hpp"
#include "runtime/object_store.hpp"
#include "runtime/spool.hpp"

namespace expd {

struct archiver_config {
  std::string store_url; ///< runtime::open_object_store's forms
  std::string pg_url;
  std::filesystem::path spool_dir;
  core::uuid spool_id;
  std::chrono::milliseconds interval{60000}; ///< longest an event waits to be archived
  std::size_t max_events = 200000;           ///< a chunk is written once this big
  std::size_t max_bytes = 64 * 1024 * 1024;  ///< or this big, uncompressed
  int zstd_level = 3;
};

struct archiver_state {
  static inline const char* name = "archiver";

  archiver_config cfg;
  std::unique_ptr<runtime::object_store> store;
  std::unique_ptr<runtime::spool_reader> reader;
  std::unique_ptr<runtime::event_store> events;
  spool_writer_actor writer;
  bool recovered = false;
  std::uint64_t archived = 0; ///< last seq in a written chunk
  std::uint64_t loaded = 0;   ///< last seq PostgreSQL holds: the most that can be archived
  core::archive_chunk chunk;
  std::chrono::steady_clock::time_point chunk_started;
  bool tick_scheduled = false;
  std::chrono::milliseconds backoff{0};
  std::uint64_t files = 0, chunks = 0, events_archived = 0, bytes_written = 0, failures = 0;
};

/// Runs detached: follows the loader through the spool and writes what PostgreSQL
/// holds (client retries the loader skipped are left out, so the archive equals the
/// table) as zstd-compressed NDJSON, one file per chunk and hour, then the chunk's
/// manifest. A chunk is written when it is big enough or its first event has waited
/// `interval`. Its progress is the newest manifest, so after a crash it resumes from
/// the object store itself.
archiver_actor::behavior_type archiver(archiver_actor::stateful_pointer<archiver_state> self,
                                       archiver_config cfg);

} // namespace expd
