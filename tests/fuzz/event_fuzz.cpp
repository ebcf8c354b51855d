// Event validation on arbitrary JSON, as POST /v1/events takes it: nesting bounded
// first, then parse_json, then validate_event on the event or on each of
// {"events":[...]}. A refusal is a field_error; an accepted event renders a COPY line of
// ten columns on one line, an archive JSON line that parses back to the same event, and
// a spool payload that decodes back to the same lines. The catalog is event_test's.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "core/field_error.hpp"
#include "core/json_depth.hpp"
#include "core/json_parse.hpp"
#include "core/spool_record.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/support/event_catalog.hpp"

using namespace expd::core;
using expd::test::catalog;
using expd::test::new_id;
using expd::test::received;
using nlohmann::json;

namespace {

// ingestion's max_event_json_depth (actors/ingestion/ingestion.cpp).
constexpr std::size_t max_depth = 32;

void check_accepted(const valid_event& e) {
  const auto* type = catalog().find_type(e.event_type);
  FUZZ_CHECK(type != nullptr);
  FUZZ_CHECK(!e.unit_type.empty() && !e.unit_id.empty());
  FUZZ_CHECK(e.occurred_at >= received - event_limits{}.max_past);
  FUZZ_CHECK(e.occurred_at <= received + event_limits{}.max_future);
  FUZZ_CHECK(e.client_event_id || e.event_id == new_id);

  // What jsonb stores: strict JSON objects without NUL.
  const auto context = json::parse(e.context_json, nullptr, false);
  FUZZ_CHECK(context.is_object());
  FUZZ_CHECK(e.context_json.find("\\u0000") == std::string::npos);
  const auto metrics = json::parse(e.metrics_json, nullptr, false);
  FUZZ_CHECK(metrics.is_object());
  for (auto it = metrics.begin(); it != metrics.end(); ++it)
    FUZZ_CHECK(type->find_metric(it.key()) != nullptr);

  std::string copy;
  append_copy_line(copy, e);
  FUZZ_CHECK(!copy.empty() && copy.back() == '\n');
  FUZZ_CHECK(std::count(copy.begin(), copy.end(), '\n') == 1);
  FUZZ_CHECK(std::count(copy.begin(), copy.end(), '\r') == 0);
  FUZZ_CHECK(std::count(copy.begin(), copy.end(), '\t') == 9);

  std::string line;
  append_json_line(line, e);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  const auto archived = json::parse(line, nullptr, false);
  FUZZ_CHECK(archived.is_object());
  FUZZ_CHECK(archived["event_id"] == e.event_id.str());
  FUZZ_CHECK(archived["event_type"] == e.event_type);
  FUZZ_CHECK(archived["unit_type"] == e.unit_type);
  FUZZ_CHECK(archived["unit_id"] == e.unit_id);
  FUZZ_CHECK(archived["experiments"].size() == e.experiments.size());
  FUZZ_CHECK(archived["context"] == context);
  FUZZ_CHECK(archived["metrics"] == metrics);
  FUZZ_CHECK(parse_rfc3339(archived["timestamp"].get<std::string>()) == e.occurred_at);

  std::string payload;
  append_spooled_event(payload, e);
  const auto spooled = read_spooled_event(payload);
  FUZZ_CHECK(spooled.has_value());
  FUZZ_CHECK(spooled->event_id == e.event_id);
  FUZZ_CHECK(spooled->occurred_at == e.occurred_at);
  FUZZ_CHECK(spooled->client_event_id == e.client_event_id);
  FUZZ_CHECK(spooled->copy_line == copy);
  FUZZ_CHECK(spooled->json_line == line);
}

void validate(const json& event) {
  valid_event e;
  try {
    e = validate_event(event, catalog(), received, new_id);
  } catch (const field_error&) {
    return;
  }
  check_accepted(e);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  if (json_nesting_exceeds(text, max_depth))
    return 0;
  json doc;
  try {
    doc = parse_json(text);
  } catch (const field_error&) { // a key given twice
    return 0;
  }
  if (doc.is_discarded())
    return 0;
  if (doc.is_object() && doc.contains("events") && doc["events"].is_array()) {
    for (const auto& event : doc["events"])
      validate(event);
  } else {
    validate(doc);
  }
  return 0;
}
