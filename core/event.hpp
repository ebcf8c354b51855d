#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event_type.hpp"
#include "core/rfc3339.hpp"
#include "core/snapshot.hpp"
#include "core/uuid.hpp"

namespace expd::core {

/// What events are checked against: the known event types and the experiments (for
/// experiment and variant ids that exist and belong together). Immutable; the registry
/// builds a new one on every change.
struct event_catalog {
  std::vector<event_type> types; ///< sorted by name
  snapshot_ptr experiments;      ///< never null

  const event_type* find_type(std::string_view name) const noexcept;
};
using event_catalog_ptr = std::shared_ptr<const event_catalog>;

/// Limits on one event; documented in docs/events.md.
struct event_limits {
  std::size_t max_unit_type_bytes = 64;
  std::size_t max_unit_id_bytes = 256;
  std::size_t max_experiments = 64;
  std::size_t max_metrics = 64;
  std::size_t max_context_bytes = 16 * 1024; ///< serialised
  unix_micros max_past = 7LL * 24 * 3600 * 1000000;  ///< timestamp at most this old
  unix_micros max_future = 5LL * 60 * 1000000;        ///< and at most this far ahead
};

/// An event that passed validation, in the form it is stored.
struct valid_event {
  uuid event_id;
  bool client_event_id = false; ///< the client chose the id (a retry may repeat it)
  unix_micros occurred_at = 0;  ///< the event's "timestamp"
  unix_micros received_at = 0;
  std::string event_type;
  std::string unit_type;
  std::string unit_id;
  std::vector<std::pair<uuid, uuid>> experiments; ///< (experiment_id, variant_id)
  /// The client sent "experiments" (even empty); absent or null: ingestion attaches
  /// the variants the unit holds.
  bool experiments_sent = false;
  std::string context_json = "{}";                ///< serialised object
  std::string metrics_json = "{}";                ///< serialised object, keys sorted
};

/// Checks one event object as a client sent it: `event_type` (known), `unit_type`,
/// `unit_id` (non-empty strings within limits), `timestamp` (RFC 3339, within
/// [received_at - max_past, received_at + max_future]), optional `event_id` (a UUID;
/// absent: `new_id` is used), optional `experiments` (array of {experiment_id,
/// variant_id}, UUIDs of an existing experiment and one of its own variants, each
/// experiment once), optional `context` (object, bounded size), optional `metrics`
/// (object; each key declared by the event type, its value of the declared kind, finite,
/// within min/max). Unknown fields are refused. Throws core::field_error whose field is
/// the path inside the event ("metrics.latency_ms", "experiments[1].variant_id"); a
/// fault of the whole event (not an object) has field "".
/// Nothing that passes can make PostgreSQL refuse its row (and with it the batch's COPY):
/// unit_type and unit_id are valid UTF-8 without control characters; context's strings
/// and keys are valid UTF-8 without NUL (jsonb refuses \u0000) and its numbers finite.
/// An integer metric takes JSON integers in the 64-bit range and floats without a
/// fraction within +-2^53 (2.0 is stored as 2), as many encoders write every number as a
/// float. A null optional member counts as absent; the nil UUID is refused as event_id.
/// Callers bound the nesting first (json_nesting_exceeds): the checks walk it recursively.
valid_event validate_event(const nlohmann::json& event, const event_catalog& catalog,
                           unix_micros received_at, const uuid& new_id,
                           const event_limits& limits = {});

/// Appends the event as one line of PostgreSQL COPY text format for exp.events'
/// columns (event_id, occurred_at, received_at, event_type, unit_type, unit_id,
/// experiment_ids, variant_ids, context, metrics), escaped per COPY's rules, ending '\n'.
void append_copy_line(std::string& out, const valid_event& e);

/// Appends the event as one line of the archive's NDJSON, ending '\n':
/// {"event_id","event_type","unit_type","unit_id","experiments":[{"experiment_id",
/// "variant_id"}],"context","metrics","timestamp","received_at"} with times in
/// format_rfc3339 form.
void append_json_line(std::string& out, const valid_event& e);

} // namespace expd::core
