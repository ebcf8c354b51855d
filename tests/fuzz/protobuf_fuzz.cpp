// The gateway's protobuf decoders on arbitrary bytes, as POST /v1/assign and /v1/events
// take them with Content-Type application/x-protobuf: each refuses (nullopt) or throws
// core::field_error, or gives what its JSON twin would: a request within the limits, or
// a JSON batch of as many events as the message holds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/gateway/protobuf_codec.hpp"
#include "core/field_error.hpp"
#include "messages/events.pb.h"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body{reinterpret_cast<const char*>(data), size};
  try {
    if (auto req = expd::decode_assign_request(body)) {
      expd::core::assign_request_limits limits;
      FUZZ_CHECK(!req->unit_type.empty() && req->unit_type.size() <= limits.max_unit_type_bytes);
      FUZZ_CHECK(!req->unit_id.empty() && req->unit_id.size() <= limits.max_unit_id_bytes);
      FUZZ_CHECK(req->context.is_object());
      FUZZ_CHECK(req->requested.size() <= limits.max_requested);
      FUZZ_CHECK(!req->all || req->requested.empty());
    }
  } catch (const expd::core::field_error&) {
  }
  try {
    if (auto text = expd::decode_events_request(body)) {
      expd::v1::EventsRequest msg;
      FUZZ_CHECK(msg.ParseFromArray(data, static_cast<int>(size)));
      auto doc = nlohmann::json::parse(*text, nullptr, false);
      FUZZ_CHECK(doc.is_object() && doc.size() == 1 && doc["events"].is_array());
      FUZZ_CHECK(doc["events"].size() == static_cast<std::size_t>(msg.events_size()));
    }
  } catch (const expd::core::field_error&) {
  }
  return 0;
}
