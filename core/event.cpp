#include "core/event.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"
#include "core/text_check.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

constexpr std::size_t max_event_type_length = 128;

uuid uuid_member(const json& obj, const std::string& path, const char* key) {
  auto id = uuid::parse(required_string(obj, path, key));
  if (!id)
    throw field_error(member_path(path, key),
                      std::string{key}
                        + " must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e");
  return *id;
}

// "9 days 3 hours": the two largest non-zero units of whole seconds, rounded up so an
// age just past a limit never reads as the limit itself.
std::string describe_duration(unix_micros d) {
  static constexpr std::pair<const char*, std::int64_t> units[] = {
    {"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}};
  auto seconds = (d + 999999) / 1000000;
  std::string out;
  int shown = 0;
  for (auto& [name, size] : units) {
    auto count = seconds / size;
    seconds %= size;
    if (count == 0 || shown == 2)
      continue;
    out += (shown++ ? " " : "") + std::to_string(count) + " " + name + (count == 1 ? "" : "s");
  }
  return shown ? out : "0 seconds";
}

unix_micros timestamp_of(const json& event, unix_micros received_at, const event_limits& limits) {
  auto t = parse_rfc3339(required_string(event, "", "timestamp"));
  if (!t)
    throw field_error("timestamp", "timestamp must be an RFC 3339 date-time with a time zone, "
                                   "such as 2025-01-01T10:00:00Z");
  if (*t < received_at - limits.max_past)
    throw field_error("timestamp", "timestamp is " + describe_duration(received_at - *t)
                                     + " old; events older than "
                                     + describe_duration(limits.max_past) + " are refused");
  if (*t > received_at + limits.max_future)
    throw field_error("timestamp", "timestamp is " + describe_duration(*t - received_at)
                                     + " ahead of the server's clock; events more than "
                                     + describe_duration(limits.max_future)
                                     + " ahead are refused");
  return *t;
}

std::vector<std::pair<uuid, uuid>> experiment_refs(const json& list, const snapshot& experiments,
                                                   const event_limits& limits) {
  if (!list.is_array())
    throw field_error("experiments",
                      "experiments must be an array of {\"experiment_id\", \"variant_id\"}");
  if (list.size() > limits.max_experiments)
    throw field_error("experiments", "more than " + std::to_string(limits.max_experiments)
                                       + " experiments");
  std::vector<std::pair<uuid, uuid>> refs;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto path = "experiments[" + std::to_string(i) + "]";
    auto& ref = list[i];
    if (!ref.is_object())
      throw field_error(path, "an experiment must be an object {\"experiment_id\", "
                              "\"variant_id\"}");
    require_known_fields(ref, path, {"experiment_id", "variant_id"});
    auto experiment_id = uuid_member(ref, path, "experiment_id");
    // find() also takes names, and a name may look like a UUID: the id must match too.
    auto* e = experiments.find(experiment_id.str());
    if (!e || e->id != experiment_id)
      throw field_error(path + ".experiment_id", "no experiment has id " + experiment_id.str());
    for (auto& [seen, variant] : refs)
      if (seen == experiment_id)
        throw field_error(path + ".experiment_id",
                          "experiment " + experiment_id.str() + " is listed twice");
    auto variant_id = uuid_member(ref, path, "variant_id");
    if (!e->find_variant(variant_id))
      throw field_error(path + ".variant_id", variant_id.str()
                                                + " is not a variant of experiment "
                                                + e->name);
    refs.emplace_back(experiment_id, variant_id);
  }
  return refs;
}

// Walks the context for what jsonb cannot hold as sent: a NUL in a string or a key
// (jsonb refuses \u0000), invalid UTF-8, and numbers past double's range (they would
// be written as null). Recursive: callers bound the nesting before parsing.
void check_context_value(const json& value, std::string& path) {
  switch (value.type()) {
  case json::value_t::string:
    check_text(value.get_ref<const std::string&>(), true, path, path);
    break;
  case json::value_t::number_float:
    if (!std::isfinite(value.get<double>()))
      throw field_error(path, path + " must be a finite number");
    break;
  case json::value_t::array:
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto length = path.size();
      path += "[" + std::to_string(i) + "]";
      check_context_value(value[i], path);
      path.resize(length);
    }
    break;
  case json::value_t::object:
    for (auto it = value.begin(); it != value.end(); ++it) {
      check_text(it.key(), true, path, "a key in " + path);
      auto length = path.size();
      path += "." + it.key();
      check_context_value(it.value(), path);
      path.resize(length);
    }
    break;
  default: break;
  }
}

std::string context_text(const json& context, const event_limits& limits) {
  if (!context.is_object())
    throw field_error("context", "context must be an object");
  // Measured before the walk so a huge context costs one pass; `replace` cannot throw,
  // and the walk refuses the invalid UTF-8 it would have replaced.
  auto text = context.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > limits.max_context_bytes)
    throw field_error("context", "context is " + std::to_string(text.size())
                                   + " bytes serialised; at most "
                                   + std::to_string(limits.max_context_bytes)
                                   + " are accepted");
  std::string path = "context";
  check_context_value(context, path);
  return text;
}

json metric_value(const metric_spec& spec, const json& value, const std::string& path) {
  if (spec.kind == metric_kind::boolean) {
    if (!value.is_boolean())
      throw field_error(path, spec.name + " must be true or false");
    return value;
  }
  auto kind = spec.kind == metric_kind::integer ? "an integer" : "a number";
  if (!value.is_number())
    throw field_error(path, spec.name + " must be " + kind);
  auto number = value.get<double>();
  if (!std::isfinite(number))
    throw field_error(path, spec.name + " must be a finite number");
  json stored = value;
  if (spec.kind == metric_kind::integer) {
    // 2.0 is accepted as 2: many JSON encoders write every number as a float.
    if (value.is_number_float()) {
      if (std::floor(number) != number)
        throw field_error(path, spec.name + " must be a whole number");
      if (std::fabs(number) > exact_integer_limit)
        throw field_error(path, spec.name + " is too large to be exact as a float; send it"
                                              " as a JSON integer");
      stored = static_cast<std::int64_t>(number);
    } else if (value.is_number_unsigned()
               && value.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()) {
      throw field_error(path, spec.name + " is past the 64-bit integer range");
    }
  }
  if (spec.min && number < *spec.min)
    throw field_error(path, spec.name + " is " + stored.dump() + ", below the minimum "
                              + number_json(*spec.min).dump());
  if (spec.max && number > *spec.max)
    throw field_error(path, spec.name + " is " + stored.dump() + ", above the maximum "
                              + number_json(*spec.max).dump());
  return stored;
}

std::string metrics_text(const json& metrics, const event_type& type,
                         const event_limits& limits) {
  if (!metrics.is_object())
    throw field_error("metrics", "metrics must be an object");
  if (metrics.size() > limits.max_metrics)
    throw field_error("metrics", "more than " + std::to_string(limits.max_metrics) + " metrics");
  json stored = json::object();
  for (auto& [name, value] : metrics.items()) {
    auto path = "metrics." + name;
    auto* spec = type.find_metric(name);
    if (!spec)
      throw field_error(path, "event type " + type.name + " declares no metric \"" + name + "\"");
    stored[name] = metric_value(*spec, value, path);
  }
  // A json object keeps its keys sorted, so equal metrics serialise to equal text.
  return stored.dump();
}

// COPY's text format: backslash, and the tab, newline and carriage return that end
// columns and rows, are written as backslash escapes; every other byte as itself.
void append_copy_text(std::string& out, std::string_view text) {
  // Runs without a special character are appended whole: most text has none.
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* escape = nullptr;
    switch (text[i]) {
    case '\\': escape = "\\\\"; break;
    case '\t': escape = "\\t"; break;
    case '\n': escape = "\\n"; break;
    case '\r': escape = "\\r"; break;
    default: continue;
    }
    out.append(text.data() + start, i - start);
    out += escape;
    start = i + 1;
  }
  out.append(text.data() + start, text.size() - start);
}

// A uuid[] literal: UUIDs need neither quotes nor escapes.
void append_uuid_array(std::string& out, const std::vector<std::pair<uuid, uuid>>& refs,
                       bool variants) {
  out += '{';
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (i)
      out += ',';
    (variants ? refs[i].second : refs[i].first).append_to(out);
  }
  out += '}';
}

void append_json_member(std::string& out, const char* key, const std::string& text) {
  out += '"';
  out += key;
  out += "\":";
  out += json(text).dump();
}

} // namespace

const event_type* event_catalog::find_type(std::string_view name) const noexcept {
  return find_event_type(types, name);
}

valid_event validate_event(const json& event, const event_catalog& catalog,
                           unix_micros received_at, const uuid& new_id,
                           const event_limits& limits) {
  if (!event.is_object())
    throw field_error("", "an event must be a JSON object");
  require_known_fields(event, "", {"event_type", "unit_type", "unit_id", "timestamp",
                                   "event_id", "experiments", "context", "metrics"});
  valid_event e;
  e.event_type = identifier(event, "", "event_type", max_event_type_length);
  auto* type = catalog.find_type(e.event_type);
  if (!type)
    throw field_error("event_type", "unknown event type \"" + e.event_type
                                      + "\"; event types are declared in event_types.yml");
  e.unit_type = unit_text(event, "unit_type", limits.max_unit_type_bytes);
  e.unit_id = unit_text(event, "unit_id", limits.max_unit_id_bytes);
  e.occurred_at = timestamp_of(event, received_at, limits);
  e.received_at = received_at;
  e.event_id = new_id;
  if (optional_member(event, "event_id")) {
    e.event_id = uuid_member(event, "", "event_id");
    // Retries are told apart by their id; every client choosing the nil one would
    // make all their events one.
    if (e.event_id.nil())
      throw field_error("event_id", "event_id must not be the nil UUID");
    e.client_event_id = true;
  }
  if (auto* list = optional_member(event, "experiments")) {
    e.experiments = experiment_refs(*list, *catalog.experiments, limits);
    e.experiments_sent = true;
  }
  if (auto* context = optional_member(event, "context"))
    e.context_json = context_text(*context, limits);
  if (auto* metrics = optional_member(event, "metrics"))
    e.metrics_json = metrics_text(*metrics, *type, limits);
  return e;
}

void append_copy_line(std::string& out, const valid_event& e) {
  e.event_id.append_to(out);
  out += '\t';
  append_rfc3339(out, e.occurred_at);
  out += '\t';
  append_rfc3339(out, e.received_at);
  for (auto* text : {&e.event_type, &e.unit_type, &e.unit_id}) {
    out += '\t';
    append_copy_text(out, *text);
  }
  out += '\t';
  append_uuid_array(out, e.experiments, false);
  out += '\t';
  append_uuid_array(out, e.experiments, true);
  out += '\t';
  append_copy_text(out, e.context_json);
  out += '\t';
  append_copy_text(out, e.metrics_json);
  out += '\n';
}

void append_json_line(std::string& out, const valid_event& e) {
  out += '{';
  out += "\"event_id\":\"";
  e.event_id.append_to(out); // ids and times need no JSON escapes
  out += '"';
  out += ',';
  append_json_member(out, "event_type", e.event_type);
  out += ',';
  append_json_member(out, "unit_type", e.unit_type);
  out += ',';
  append_json_member(out, "unit_id", e.unit_id);
  out += ",\"experiments\":[";
  for (std::size_t i = 0; i < e.experiments.size(); ++i) {
    out += i ? ",{" : "{";
    out += "\"experiment_id\":\"";
    e.experiments[i].first.append_to(out);
    out += "\",\"variant_id\":\"";
    e.experiments[i].second.append_to(out);
    out += '"';
    out += '}';
  }
  out += "],\"context\":";
  out += e.context_json;
  out += ",\"metrics\":";
  out += e.metrics_json;
  out += ',';
  out += "\"timestamp\":\"";
  append_rfc3339(out, e.occurred_at);
  out += "\",\"received_at\":\"";
  append_rfc3339(out, e.received_at);
  out += '"';
  out += "}\n";
}

} // namespace expd::core
