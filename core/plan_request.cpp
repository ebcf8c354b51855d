#include "core/plan_request.hpp"

#include "core/json_fields.hpp"
#include "core/planner_plan.hpp"
#include "core/text_check.hpp"
#include "core/variant_execution.hpp"

namespace expd::core {

using nlohmann::json;

namespace {

// An id of the domain's or the caller's: non-empty, short, printable.
std::string id_at(const json& obj, const std::string& path, const char* key, std::size_t max_bytes, bool required) {
  auto field = member_path(path, key);
  auto* v = optional_member(obj, key);
  if (v == nullptr) {
    if (required)
      throw field_error(field, std::string(key) + " is required");
    return {};
  }
  if (!v->is_string() || v->get_ref<const std::string&>().empty())
    throw field_error(field, std::string(key) + " must be a non-empty string");
  auto& text = v->get_ref<const std::string&>();
  if (text.size() > max_bytes)
    throw field_error(field, std::string(key) + " is longer than " + std::to_string(max_bytes) + " bytes");
  check_text(text, false, field, key);
  return text;
}

plan_input input_of(const json& body, const std::string& path, const plan_request_limits& limits) {
  auto field = member_path(path, "input");
  auto* v = optional_member(body, "input");
  if (v == nullptr)
    throw field_error(field, "input is required: {\"pantry_id\", \"constraint_id\", \"workflow\", \"mode\"}");
  if (!v->is_object())
    throw field_error(field, "input must be an object");
  require_known_fields(*v, field, {"household_id", "pantry_id", "constraint_id", "workflow", "mode", "previous_plan"});
  plan_input in;
  in.household_id = id_at(*v, field, "household_id", limits.max_id_bytes, false);
  in.pantry_id = id_at(*v, field, "pantry_id", limits.max_id_bytes, true);
  in.constraint_id = id_at(*v, field, "constraint_id", limits.max_id_bytes, true);
  in.workflow = id_at(*v, field, "workflow", limits.max_id_bytes, true);
  in.mode = id_at(*v, field, "mode", limits.max_id_bytes, true);
  if (auto* list = optional_member(*v, "previous_plan")) {
    auto list_field = member_path(field, "previous_plan");
    if (!list->is_array())
      throw field_error(list_field, "previous_plan must be an array of recipe ids");
    if (list->size() > limits.max_previous_plan)
      throw field_error(list_field, "previous_plan holds more than " + std::to_string(limits.max_previous_plan)
                                      + " recipes");
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto item = list_field + "[" + std::to_string(i) + "]";
      auto& r = (*list)[i];
      if (!r.is_string() || r.get_ref<const std::string&>().empty()
          || r.get_ref<const std::string&>().size() > limits.max_id_bytes)
        throw field_error(item, "a recipe id must be a non-empty string of at most "
                                  + std::to_string(limits.max_id_bytes) + " bytes");
      check_text(r.get_ref<const std::string&>(), false, item, "recipe id");
      in.previous_plan.push_back(r.get<std::string>());
    }
  }
  return in;
}

} // namespace

plan_request parse_plan_request(const json& body, const std::string& path, const plan_request_limits& limits) {
  if (!body.is_object())
    throw field_error(path.empty() ? "body" : path, "a plan request must be a JSON object");
  require_known_fields(body, path,
                       {"unit_id", "unit_type", "experiment", "context", "request_id", "max_new_tokens", "input"});
  plan_request r;
  // The unit's checks are the assign request's, so a unit /v1/assign takes is taken here.
  json unit = json::object();
  unit["unit_id"] = body.contains("unit_id") ? body["unit_id"] : json();
  unit["unit_type"] = body.contains("unit_type") && !body["unit_type"].is_null() ? body["unit_type"] : json("household");
  try {
    r.assign = parse_assign_request(std::move(unit));
  } catch (const field_error& e) {
    throw field_error(member_path(path, e.field()), e.what());
  }
  if (auto* ctx = optional_member(body, "context")) {
    if (!ctx->is_object())
      throw field_error(member_path(path, "context"), "context must be an object of the unit's attributes");
    r.assign.context = *ctx;
  }
  if (auto experiment = id_at(body, path, "experiment", 256, false); !experiment.empty()) {
    r.assign.all = false;
    r.assign.requested.push_back(std::move(experiment));
  }
  r.request_id = id_at(body, path, "request_id", limits.max_id_bytes, false);
  if (auto* n = optional_member(body, "max_new_tokens")) {
    if (!n->is_number_integer() || n->get<std::int64_t>() < 1 || n->get<std::int64_t>() > limits.max_new_tokens)
      throw field_error(member_path(path, "max_new_tokens"),
                        "max_new_tokens must be a whole number from 1 to " + std::to_string(limits.max_new_tokens));
    r.max_new_tokens = n->get<std::uint32_t>();
  }
  r.input = input_of(body, path, limits);
  if (r.input.household_id.empty())
    r.input.household_id = r.assign.unit_id;
  return r;
}

std::vector<plan_request> parse_plan_batch(const json& body, const plan_request_limits& limits) {
  if (!body.is_object())
    throw field_error("body", "the body must be a JSON object {\"requests\": [...]}");
  require_known_fields(body, "", {"requests"});
  auto* list = optional_member(body, "requests");
  if (list == nullptr || !list->is_array() || list->empty())
    throw field_error("requests", "requests must be a non-empty array of plan requests");
  if (list->size() > limits.max_batch)
    throw field_error("requests", "a batch holds at most " + std::to_string(limits.max_batch) + " requests, not "
                                    + std::to_string(list->size()));
  std::vector<plan_request> out;
  out.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(parse_plan_request((*list)[i], "requests[" + std::to_string(i) + "]", limits));
  return out;
}

std::optional<plan_assignment> plan_assignment_of(const json& assign_answer) {
  auto list = assign_answer.find("assignments");
  if (list == assign_answer.end() || !list->is_array())
    return std::nullopt;
  for (auto& a : *list) {
    auto config = a.find("config");
    if (config == a.end() || !config->is_object())
      continue;
    variant_execution execution;
    try {
      execution = read_variant_execution(*config, "config");
    } catch (const field_error&) {
      continue; // checked at apply; a config that reads otherwise serves no model
    }
    if (!execution.policy || execution.strategy == execution_strategy::prompt_template)
      continue;
    plan_assignment out;
    out.experiment_id = a.value("experiment_id", "");
    out.experiment_name = a.value("experiment_name", "");
    out.variant_id = a.value("variant_id", "");
    out.variant_name = a.value("variant_name", "");
    out.policy_version_id = execution.policy_text;
    return out;
  }
  return std::nullopt;
}

json plan_generated_event(const plan_request& request, const plan_assignment& assignment, const plan_outcome& outcome,
                          unix_micros at) {
  auto& in = request.input;
  json metrics = {{"latency_ms", outcome.latency_ms}, {"cost_usd", outcome.cost_usd}};
  auto plan = parse_planner_plan(outcome.plan);
  if (plan.readable)
    metrics["plan_steps"] = plan.days.size();
  return {{"event_type", "plan_generated"},
          {"unit_type", request.assign.unit_type},
          {"unit_id", request.assign.unit_id},
          {"experiments", {{{"experiment_id", assignment.experiment_id}, {"variant_id", assignment.variant_id}}}},
          {"context",
           {{"request_id", request.request_id},
            {"policy_version_id", outcome.policy_version_id},
            {"model", outcome.model},
            {"household_id", in.household_id},
            {"pantry_id", in.pantry_id},
            {"constraint_id", in.constraint_id},
            {"workflow", in.workflow},
            {"mode", in.mode},
            {"previous_plan", in.previous_plan},
            {"plan", outcome.plan}}},
          {"metrics", std::move(metrics)},
          {"timestamp", format_rfc3339(at)}};
}

json plan_answer(const plan_request& request, const plan_assignment& assignment, const plan_outcome& outcome) {
  return {{"request_id", request.request_id},
          {"unit_id", request.assign.unit_id},
          {"experiment_id", assignment.experiment_id},
          {"experiment_name", assignment.experiment_name},
          {"variant_id", assignment.variant_id},
          {"variant_name", assignment.variant_name},
          {"policy_version_id", outcome.policy_version_id},
          {"model", outcome.model},
          {"plan", outcome.plan},
          {"finish_reason", outcome.finish_reason},
          {"prompt_tokens", outcome.prompt_tokens},
          {"generated_tokens", outcome.generated_tokens},
          {"batch_size", outcome.batch_size},
          {"latency_ms", outcome.latency_ms},
          {"cost_usd", outcome.cost_usd}};
}

} // namespace expd::core
