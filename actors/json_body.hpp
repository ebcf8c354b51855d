#pragma once

#include <string>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "core/json_parse.hpp"
#include "messages/error.hpp"
#include "messages/types.hpp"

namespace expd {

/// An answer with `body` as JSON; text that is not UTF-8 is replaced, never thrown on.
inline api_reply json_reply(std::uint16_t status, const nlohmann::json& body) {
  return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

/// Parses a request body into `doc`; else the refusal: not JSON (`malformed` names
/// why), or a key given twice (named). Every actor that takes a JSON document uses it,
/// so the same fault reads the same everywhere.
inline caf::error parse_json_body(const std::string& body, nlohmann::json& doc,
                                  const char* malformed = "the body is not valid JSON") {
  try {
    doc = core::parse_json(body);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_json, e.field(), e.what());
  }
  if (doc.is_discarded())
    return make_error(ec::invalid_json, "body", malformed);
  return caf::none;
}

} // namespace expd
