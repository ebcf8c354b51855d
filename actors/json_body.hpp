#pragma once

#include <string>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "core/json_parse.hpp"
#include "messages/error.hpp"

namespace expd {

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
