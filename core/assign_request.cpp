#include "core/assign_request.hpp"

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

assign_request parse_assign_request(nlohmann::json body, const assign_request_limits& limits) {
  if (!body.is_object())
    throw field_error("body", "the request body must be a JSON object");
  assign_request req;
  // Both reach exp.assignments: checked as events' are, so no row can fail the COPY.
  req.unit_type = unit_text(body, "unit_type", limits.max_unit_type_bytes);
  req.unit_id = unit_text(body, "unit_id", limits.max_unit_id_bytes);
  if (auto ctx = body.find("context"); ctx != body.end() && !ctx->is_null()) {
    if (!ctx->is_object())
      throw field_error("context", "context must be an object");
    req.context = std::move(*ctx);
  }
  if (auto list = body.find("requested_experiments"); list != body.end() && !list->is_null()) {
    if (!list->is_array())
      throw field_error("requested_experiments", "requested_experiments must be an array");
    if (list->size() > limits.max_requested)
      throw field_error("requested_experiments",
                        "more than " + std::to_string(limits.max_requested) + " experiments");
    req.all = false;
    req.requested.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto& item = (*list)[i];
      if (!item.is_string() || item.get_ref<const std::string&>().empty())
        throw field_error("requested_experiments[" + std::to_string(i) + "]",
                          "an experiment name or id must be a non-empty string");
      req.requested.push_back(std::move(item.get_ref<std::string&>()));
    }
  }
  return req;
}

} // namespace expd::core
