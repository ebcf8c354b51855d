#include "core/planner_features.hpp"

namespace expd::core {

namespace {

std::string stated(const std::string& value) {
  return value.empty() ? "unstated" : value;
}

} // namespace

const drift_schema& planner_drift_schema() {
  static const drift_schema schema{
      {"household_size", "pantry_items", "max_minutes", "dinners", "allergies", "previous_plan_length"},
      {"diet", "workflow", "mode"}};
  return schema;
}

std::optional<drift_row> planner_features(std::string_view input, const planner_catalogue& catalogue) {
  auto request = parse_planner_input(input, catalogue);
  if (!request)
    return std::nullopt;
  return drift_row{{static_cast<double>(request->adults + request->children),
                    static_cast<double>(request->pantry.size()),
                    static_cast<double>(request->max_minutes), static_cast<double>(request->dinners),
                    static_cast<double>(request->allergies.size()),
                    static_cast<double>(request->previous_plan.size())},
                   {request->diet, stated(request->workflow), stated(request->mode)}};
}

} // namespace expd::core
