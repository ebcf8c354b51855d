#include "actors/gateway/error_table.hpp"

#include <array>

#include <nlohmann/json.hpp>

#include "core/api_error.hpp"

namespace expd {

namespace {

using nlohmann::json;

// What answers an error that is not expd's: CAF's own (a deadline passed, an actor
// died or a node went away). The service may be back on the next try.
constexpr error_row unreachable_row{ec::deadline_exceeded, 503, "unavailable", 0, false};
constexpr std::string_view unreachable_message = "the service did not answer in time; retry";

constexpr std::array<error_row, ec_end - 1> rows{{
  {ec::invalid_json, 400, "invalid_json", 0, false},
  {ec::invalid_field, 400, "invalid_field", 0, false},
  {ec::invalid_event, 400, "invalid_event", 0, false},
  {ec::unknown_experiment, 400, "unknown_experiment", 0, false},
  {ec::experiment_not_found, 404, "unknown_experiment", 0, false},
  {ec::not_found, 404, "not_found", 0, false},
  {ec::invalid_experiment, 422, "invalid_experiment", 0, false},
  {ec::invalid_event_type, 422, "invalid_event_type", 0, false},
  {ec::invalid_transition, 409, "invalid_transition", 0, false},
  {ec::too_many_events, 413, "too_many_events", 0, false},
  {ec::unauthorized, 401, "unauthorized", 0, true},
  {ec::method_not_allowed, 405, "method_not_allowed", 0, false},
  {ec::unsupported_media_type, 415, "unsupported_media_type", 0, false},
  {ec::bad_request, 400, "bad_request", 0, false},
  {ec::request_timeout, 408, "bad_request", 0, false},
  {ec::payload_too_large, 413, "bad_request", 0, false},
  {ec::headers_too_large, 431, "bad_request", 0, false},
  {ec::not_implemented, 501, "not_implemented", 0, false},
  {ec::version_not_supported, 505, "bad_request", 0, false},
  {ec::too_many_connections, 503, "too_many_connections", 1, false},
  {ec::starting, 503, "starting", 0, false},
  {ec::unavailable, 503, "unavailable", 5, false},
  {ec::database_unavailable, 503, "database_unavailable", 0, false},
  {ec::spool_unavailable, 503, "spool_unavailable", 1, false},
  {ec::spool_full, 503, "spool_full", 5, false},
  // The gateway's ring was older than the shard's: the next try finds the owner.
  {ec::not_owner, 503, "unavailable", 1, false},
  unreachable_row,
  {ec::invalid_protobuf, 400, "invalid_protobuf", 0, false},
  // The request asks more than the service takes (its field says what): 4xx, since the
  // same request would be refused again.
  {ec::over_limit, 400, "over_limit", 0, false},
  // Too many requests wait already; a later try may find room.
  {ec::overloaded, 429, "overloaded", 1, false},
  {ec::invalid_policy, 422, "invalid_policy", 0, false},
  // The same window would be refused again until events arrive in it.
  {ec::empty_dataset, 422, "empty_dataset", 0, false},
  {ec::invalid_saved_group, 422, "invalid_saved_group", 0, false},
  // The group stays until what names it is changed: the same request fails again.
  {ec::saved_group_in_use, 409, "saved_group_in_use", 0, false},
}};

} // namespace

const error_row* find_error_row(ec code) noexcept {
  for (auto& row : rows)
    if (row.code == code)
      return &row;
  return nullptr;
}

http_error_reply render_http_error(const caf::error& err) {
  const error_row* row = nullptr;
  if (auto code = expd_code(err))
    row = find_error_row(static_cast<ec>(code));
  if (row == nullptr)
    return {unreachable_row.status,
            core::error_json(unreachable_row.name, unreachable_message), {}};
  http_error_reply reply{row->status, core::error_json(row->name, error_message(err),
                                                       error_field(err)),
                         {}};
  if (auto detail = error_detail(err); !detail.empty()) {
    auto body = json::parse(detail, nullptr, false);
    if (body.is_object()) {
      body["error"] = std::move(json::parse(reply.body)["error"]);
      reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  auto retry_after = error_retry_after(err) != 0 ? error_retry_after(err) : row->retry_after;
  if (retry_after != 0)
    reply.headers.emplace_back("Retry-After", std::to_string(retry_after));
  if (row->challenge)
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  return reply;
}

ec protocol_error_code(int status) noexcept {
  switch (status) {
    case 408: return ec::request_timeout;
    case 413: return ec::payload_too_large;
    case 431: return ec::headers_too_large;
    case 501: return ec::not_implemented;
    case 505: return ec::version_not_supported;
    default: return ec::bad_request;
  }
}

} // namespace expd
