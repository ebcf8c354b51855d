#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/assign_request.hpp"

namespace expd {

// POST /v1/assign and /v1/events in protobuf (messages/assign.proto,
// messages/events.proto; docs/api.md). Requests become what their JSON twins become, so
// the same checks answer both; answers are made from the JSON the actors reply with.

/// Reads an expd.v1.AssignRequest into the request its JSON twin gives, with the same
/// checks (core::parse_assign_request). nullopt when the bytes are not an AssignRequest;
/// throws core::field_error naming the field otherwise ("unit_id", "context.tags[2]").
std::optional<core::assign_request> decode_assign_request(std::string_view body,
                                                          const core::assign_request_limits& limits = {});

/// Reads an expd.v1.EventsRequest into the JSON text {"events":[...]} that ingestion
/// checks as it checks a JSON client's. nullopt when the bytes are not an EventsRequest;
/// throws core::field_error naming a value JSON cannot hold ("events[2].metrics.x": a
/// number that is not finite, a value of no kind).
std::optional<std::string> decode_events_request(std::string_view body);

/// The serialised expd.v1.AssignResponse of an assign answer's JSON
/// (core::append_assignments_json); nullopt when the JSON does not fit it.
std::optional<std::string> encode_assign_reply(std::string_view json);

/// The serialised expd.v1.EventsResponse of an events answer's JSON
/// ({"accepted":N,"rejected":[...]}); nullopt when the JSON does not fit it.
std::optional<std::string> encode_events_reply(std::string_view json);

} // namespace expd
