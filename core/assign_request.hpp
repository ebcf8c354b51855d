#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace expd::core {

/// POST /v1/assign, as the onboarding spec shapes it.
struct assign_request {
  std::string unit_type;
  std::string unit_id;
  nlohmann::json context = nlohmann::json::object();
  /// Experiment names or ids; empty with `all` set means every served experiment.
  std::vector<std::string> requested;
  bool all = true;
};

/// Limits on one request; past them it is refused with the field named.
struct assign_request_limits {
  std::size_t max_unit_id_bytes = 512;
  std::size_t max_unit_type_bytes = 64;
  std::size_t max_requested = 100;
};

/// Reads and checks a request body. Throws core::field_error naming the field:
/// "unit_id" missing, not a non-empty string, too long, not valid UTF-8 or holding a NUL
/// or control character (the rules events' unit ids follow), "context" not an object,
/// "requested_experiments[3]" not a string. Unknown fields are ignored so older
/// servers accept newer clients.
assign_request parse_assign_request(nlohmann::json body, const assign_request_limits& limits = {});

/// parse_assign_request(parse_json(text)): the same request and the same errors, nullopt
/// when the text is not JSON. A body of the usual shape (only the four fields, each of
/// its type) goes from simdjson's value to the request without the nlohmann tree of the
/// whole body, which was most of the gateway's own work per request; any other body
/// takes the way above.
std::optional<assign_request> parse_assign_body(std::string_view text,
                                                const assign_request_limits& limits = {});

} // namespace expd::core
