#include "core/assign_request.hpp"

#include "core/field_error.hpp"
#include "core/json_fields.hpp"
#include "core/json_parse.hpp"
#include "core/simdjson_value.hpp"
#include "core/text_check.hpp"

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

namespace {

// A unit_type or unit_id that unit_text takes as it is.
bool plain_unit_text(simdjson::dom::element value, const char* key, std::size_t max_bytes,
                     std::string& out) {
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS || text.empty() || text.size() > max_bytes)
    return false;
  try {
    check_text(text, false, key, key);
  } catch (const field_error&) {
    return false;
  }
  out.assign(text);
  return true;
}

// The request, when the body has the usual shape; nullopt sends it the general way, which
// also finds what is wrong with it and says so as before.
std::optional<assign_request> usual_request(simdjson::dom::element root,
                                            const assign_request_limits& limits) {
  simdjson::dom::object body;
  if (root.get(body) != simdjson::SUCCESS)
    return std::nullopt;
  assign_request req;
  bool seen[4] = {false, false, false, false};
  for (auto [key, value] : body) {
    int field = key == "unit_type"               ? 0
                : key == "unit_id"               ? 1
                : key == "context"               ? 2
                : key == "requested_experiments" ? 3
                                                 : -1;
    if (field < 0 || seen[field])
      return std::nullopt;
    seen[field] = true;
    if (field == 0 && !plain_unit_text(value, "unit_type", limits.max_unit_type_bytes, req.unit_type))
      return std::nullopt;
    if (field == 1 && !plain_unit_text(value, "unit_id", limits.max_unit_id_bytes, req.unit_id))
      return std::nullopt;
    if (field == 2 && !value.is_null()) {
      if (!value.is_object())
        return std::nullopt;
      try {
        req.context = to_json(value);
      } catch (const field_error&) {
        return std::nullopt;
      }
    }
    if (field == 3 && !value.is_null()) {
      simdjson::dom::array list;
      if (value.get(list) != simdjson::SUCCESS || list.size() > limits.max_requested)
        return std::nullopt;
      req.all = false;
      req.requested.reserve(list.size());
      for (auto item : list) {
        std::string_view name;
        if (item.get(name) != simdjson::SUCCESS || name.empty())
          return std::nullopt;
        req.requested.emplace_back(name);
      }
    }
  }
  if (!seen[0] || !seen[1])
    return std::nullopt;
  return req;
}

} // namespace

std::optional<assign_request> parse_assign_body(std::string_view text,
                                                const assign_request_limits& limits) {
  simdjson::dom::element root;
  if (thread_json_parser().parse(text.data(), text.size()).get(root) == simdjson::SUCCESS)
    if (auto req = usual_request(root, limits))
      return req;
  auto doc = parse_json(text);
  if (doc.is_discarded())
    return std::nullopt;
  return parse_assign_request(std::move(doc), limits);
}

} // namespace expd::core
