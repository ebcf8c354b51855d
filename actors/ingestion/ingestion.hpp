#pragma once

#include <chrono>
#include <cstdint>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/event.hpp"
#include "messages/actors.hpp"

namespace expd {

struct ingestion_config {
  core::event_limits limits;
  std::size_t max_batch = 1000;        ///< events in one request
  std::chrono::seconds retry_after{5}; ///< told to clients while the spool is full
};

struct ingestion_state {
  static inline const char* name = "ingestion";

  ingestion_config cfg;
  core::event_catalog_ptr catalog;
  spool_writer_actor spool;
  event_reader_actor reader;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t refused_full = 0;
};

/// The front of event ingestion: parses and validates each event of a request against
/// the newest catalog, hands the good ones to the spool and answers once they are
/// durable, with the index, field and reason of every rejected one.
ingestion_actor::behavior_type
ingestion(ingestion_actor::stateful_pointer<ingestion_state> self, ingestion_config cfg,
          spool_writer_actor spool, event_reader_actor reader);

} // namespace expd
