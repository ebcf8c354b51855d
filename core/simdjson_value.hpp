#pragma once

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace expd::core {

/// This thread's simdjson parser; its buffers are reused from one parse to the next, and
/// the values it returns live until its next parse.
simdjson::dom::parser& thread_json_parser();

/// `value` as parse_json builds it; throws field_error naming a key given twice.
nlohmann::json to_json(simdjson::dom::element value);

} // namespace expd::core
