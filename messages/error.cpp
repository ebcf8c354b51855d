#include "messages/error.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace expd {

namespace {

// The context is always (field, message, detail, retry_after): one shape, so a
// receiver on another node reads it without guessing.
template <class T>
T context_element(const caf::error& err, std::size_t pos) {
  auto& ctx = err.context();
  if (err.category() != error_category
      || !ctx.match_elements<std::string, std::string, std::string, std::uint32_t>())
    return T{};
  return ctx.get_as<T>(pos);
}

} // namespace

std::string_view to_string(ec code) {
  switch (code) {
    case ec::invalid_json: return "invalid_json";
    case ec::invalid_field: return "invalid_field";
    case ec::invalid_event: return "invalid_event";
    case ec::unknown_experiment: return "unknown_experiment";
    case ec::experiment_not_found: return "experiment_not_found";
    case ec::not_found: return "not_found";
    case ec::invalid_experiment: return "invalid_experiment";
    case ec::invalid_event_type: return "invalid_event_type";
    case ec::invalid_transition: return "invalid_transition";
    case ec::too_many_events: return "too_many_events";
    case ec::unauthorized: return "unauthorized";
    case ec::method_not_allowed: return "method_not_allowed";
    case ec::unsupported_media_type: return "unsupported_media_type";
    case ec::bad_request: return "bad_request";
    case ec::request_timeout: return "request_timeout";
    case ec::payload_too_large: return "payload_too_large";
    case ec::headers_too_large: return "headers_too_large";
    case ec::not_implemented: return "not_implemented";
    case ec::version_not_supported: return "version_not_supported";
    case ec::too_many_connections: return "too_many_connections";
    case ec::starting: return "starting";
    case ec::unavailable: return "unavailable";
    case ec::database_unavailable: return "database_unavailable";
    case ec::spool_unavailable: return "spool_unavailable";
    case ec::spool_full: return "spool_full";
    case ec::not_owner: return "not_owner";
    case ec::deadline_exceeded: return "deadline_exceeded";
    case ec::invalid_protobuf: return "invalid_protobuf";
    case ec::over_limit: return "over_limit";
    case ec::overloaded: return "overloaded";
    case ec::invalid_policy: return "invalid_policy";
    case ec::empty_dataset: return "empty_dataset";
    case ec::invalid_saved_group: return "invalid_saved_group";
    case ec::saved_group_in_use: return "saved_group_in_use";
  }
  return "unknown";
}

caf::error make_error(ec code, std::string field, std::string message) {
  return make_error(code, std::move(field), std::move(message), error_extras{});
}

caf::error make_error(ec code, std::string field, std::string message, error_extras extras) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(field), std::move(message),
                                      std::move(extras.detail), extras.retry_after)};
}

std::string error_field(const caf::error& err) {
  return context_element<std::string>(err, 0);
}

std::string error_message(const caf::error& err) {
  return context_element<std::string>(err, 1);
}

std::string error_detail(const caf::error& err) {
  return context_element<std::string>(err, 2);
}

std::uint32_t error_retry_after(const caf::error& err) {
  return context_element<std::uint32_t>(err, 3);
}

std::uint8_t expd_code(const caf::error& err) {
  return err.category() == error_category ? err.code() : 0;
}

std::string render_error(std::uint8_t code, caf::atom_value, const caf::message& ctx) {
  std::string out = "expd:";
  out += to_string(static_cast<ec>(code));
  if (ctx.match_elements<std::string, std::string, std::string, std::uint32_t>()) {
    auto& field = ctx.get_as<std::string>(0);
    if (!field.empty())
      out += " at " + field;
    out += ": " + ctx.get_as<std::string>(1);
  }
  return out;
}

} // namespace expd
