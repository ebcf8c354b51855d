#pragma once

// What the event integration suites share: a node prepared for events, events in the
// spec's shape, and the archive read back and compared with exp.events.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/object_store.hpp"
#include "tests/integration/expd_process.hpp"

namespace expd::testing {

/// Now (plus an offset) as RFC 3339, as clients send timestamps.
std::string now_text(std::int64_t offset_seconds = 0);

/// plan_generated (latency_ms) and plan_accepted (accepted).
const nlohmann::json& event_types();

struct ids {
  std::string experiment, control, other;
};

/// Applies spec_example() and event_types(); returns the ids events refer to.
ids prepare(const expd_process& node);

/// A plan_generated event of `unit` crediting the control variant.
nlohmann::json event(const ids& x, const std::string& unit, double latency = 450);

http_reply post(const expd_process& node, const nlohmann::json& body);

/// count(*) of exp.events as text.
std::string stored(const scratch_database& db);

std::string spool_id(const expd_process& node);

/// Every event the node's manifests list, read back from the files, by event_id; a
/// file whose checksum does not match its manifest, or an event archived twice, fails.
std::map<std::string, nlohmann::json> archived(runtime::object_store& store,
                                               const std::string& spool);

/// The table as the archive writes it, by event_id.
std::map<std::string, nlohmann::json> table(const scratch_database& db);

/// Waits until the archive holds as many events as the table, then compares them.
void expect_archive_equals_table(runtime::object_store& store, const std::string& spool,
                                 const scratch_database& db);

} // namespace expd::testing
