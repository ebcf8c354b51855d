#include "actors/gateway/protobuf_codec.hpp"

#include <cmath>
#include <limits>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "messages/assign.pb.h"
#include "messages/events.pb.h"

namespace expd {

namespace {

using nlohmann::json;
namespace pb = google::protobuf;

// Integers a double holds exactly: written as JSON integers, as a JSON client writes them.
constexpr double max_exact = 9007199254740992.0; // 2^53

// The recursion is bounded by libprotobuf's parser: at most 100 messages deep, three a
// level of objects (Struct, its map entry, Value).
json to_json(const pb::Value& v, const std::string& path);

json to_json(const pb::Struct& s, const std::string& path) {
  json out = json::object();
  for (auto& [key, value] : s.fields())
    out[key] = to_json(value, path + "." + key);
  return out;
}

json to_json(const pb::Value& v, const std::string& path) {
  switch (v.kind_case()) {
    case pb::Value::kNullValue: return nullptr;
    case pb::Value::kBoolValue: return v.bool_value();
    case pb::Value::kStringValue: return v.string_value();
    case pb::Value::kStructValue: return to_json(v.struct_value(), path);
    case pb::Value::kNumberValue: {
      double x = v.number_value();
      if (!std::isfinite(x))
        throw core::field_error(path, "a number must be finite");
      if (x == std::trunc(x) && std::fabs(x) <= max_exact)
        return static_cast<std::int64_t>(x);
      return x;
    }
    case pb::Value::kListValue: {
      json out = json::array();
      auto& items = v.list_value().values();
      for (int i = 0; i < items.size(); ++i)
        out.push_back(to_json(items[i], path + "[" + std::to_string(i) + "]"));
      return out;
    }
    case pb::Value::KIND_NOT_SET: break;
  }
  throw core::field_error(path, "a google.protobuf.Value must set one kind");
}

// proto3 cannot tell an empty string from an absent one: empty is absent, so a missing
// required field is refused as in JSON.
void put_text(json& obj, const char* key, const std::string& text) {
  if (!text.empty())
    obj[key] = text;
}

template <class Message>
bool parse(Message& msg, std::string_view body) {
  // libprotobuf logs why a string is not UTF-8 to stderr; the client hears it as a 400.
  static const bool quiet = (pb::SetLogHandler(nullptr), true);
  (void)quiet;
  return body.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max())
         && msg.ParseFromArray(body.data(), static_cast<int>(body.size()));
}

template <class Message>
std::optional<std::string> encode(std::string_view text) {
  Message msg;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!pb::util::JsonStringToMessage(pb::StringPiece{text.data(), text.size()}, &msg, options).ok())
    return std::nullopt;
  return msg.SerializeAsString();
}

json event_json(const v1::Event& e, const std::string& path) {
  json out = json::object();
  put_text(out, "event_type", e.event_type());
  put_text(out, "unit_type", e.unit_type());
  put_text(out, "unit_id", e.unit_id());
  put_text(out, "timestamp", e.timestamp());
  put_text(out, "event_id", e.event_id());
  if (e.has_experiments()) {
    json list = json::array();
    for (auto& pair : e.experiments().experiments()) {
      json item = json::object();
      put_text(item, "experiment_id", pair.experiment_id());
      put_text(item, "variant_id", pair.variant_id());
      list.push_back(std::move(item));
    }
    out["experiments"] = std::move(list);
  }
  if (e.has_context())
    out["context"] = to_json(e.context(), path + "context");
  if (e.has_metrics())
    out["metrics"] = to_json(e.metrics(), path + "metrics");
  return out;
}

} // namespace

std::optional<core::assign_request> decode_assign_request(std::string_view body,
                                                          const core::assign_request_limits& limits) {
  v1::AssignRequest msg;
  if (!parse(msg, body))
    return std::nullopt;
  json doc = json::object();
  put_text(doc, "unit_type", msg.unit_type());
  put_text(doc, "unit_id", msg.unit_id());
  if (msg.has_context())
    doc["context"] = to_json(msg.context(), "context");
  if (msg.has_requested_experiments()) {
    json list = json::array();
    for (auto& name : msg.requested_experiments().experiments())
      list.push_back(name);
    doc["requested_experiments"] = std::move(list);
  }
  return core::parse_assign_request(std::move(doc), limits);
}

std::optional<std::string> decode_events_request(std::string_view body) {
  v1::EventsRequest msg;
  if (!parse(msg, body))
    return std::nullopt;
  json events = json::array();
  for (int i = 0; i < msg.events_size(); ++i)
    events.push_back(event_json(msg.events(i), "events[" + std::to_string(i) + "]."));
  return json{{"events", std::move(events)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> encode_assign_reply(std::string_view json) {
  return encode<v1::AssignResponse>(json);
}

std::optional<std::string> encode_events_reply(std::string_view json) {
  return encode<v1::EventsResponse>(json);
}

} // namespace expd
