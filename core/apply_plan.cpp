#include "core/apply_plan.hpp"

#include <unordered_map>

#include "core/bucketing.hpp"
#include "core/field_error.hpp"

namespace expd::core {

std::string_view to_string(apply_action action) noexcept {
  switch (action) {
    case apply_action::created:
      return "created";
    case apply_action::updated:
      return "updated";
    case apply_action::unchanged:
      return "unchanged";
  }
  return "unchanged";
}

namespace {

bool same_variants(const std::vector<variant_spec>& spec, const std::vector<variant>& cur) {
  if (spec.size() != cur.size())
    return false;
  for (std::size_t i = 0; i < spec.size(); ++i)
    if (spec[i].name != cur[i].name || spec[i].allocation != cur[i].allocation
        || spec[i].config != cur[i].config)
      return false;
  return true;
}

void check_change(const experiment_spec& spec, const experiment& cur,
                  const std::string& path) {
  if (!can_transition(cur.status, *spec.status))
    throw field_error(path + ".status", "cannot move \"" + cur.name + "\" from "
                                          + std::string{to_string(cur.status)} + " to "
                                          + std::string{to_string(*spec.status)});
  if (cur.status == experiment_status::draft)
    return;
  if (spec.unit_type != cur.unit_type)
    throw field_error(path + ".unit_type",
                      "unit_type cannot change once the experiment has left draft");
  for (auto& v : cur.variants) {
    bool kept = false;
    for (auto& s : spec.variants)
      kept = kept || s.name == v.name;
    if (!kept)
      throw field_error(path + ".variants", "variant \"" + v.name
                                              + "\" has assignments and cannot be removed;"
                                                " set its allocation to 0 instead");
  }
}

} // namespace

std::vector<planned_experiment> plan_apply(const std::vector<experiment_spec>& specs,
                                           const std::vector<experiment>& current) {
  std::unordered_map<std::string, const experiment*> by_name;
  for (auto& e : current)
    by_name.emplace(e.name, &e);
  std::vector<planned_experiment> plan;
  plan.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto path = "experiments[" + std::to_string(i) + "]";
    planned_experiment p;
    p.spec = specs[i];
    if (!p.spec.salt)
      p.spec.salt = p.spec.name;
    auto it = by_name.find(p.spec.name);
    if (it == by_name.end()) {
      if (!p.spec.status)
        p.spec.status = experiment_status::draft;
      p.action = apply_action::created;
      plan.push_back(std::move(p));
      continue;
    }
    auto& cur = *it->second;
    p.current = &cur;
    if (!p.spec.status)
      p.spec.status = cur.status;
    check_change(p.spec, cur, path);
    bool same = p.spec.unit_type == cur.unit_type && p.spec.description == cur.description
                && *p.spec.status == cur.status && *p.spec.salt == cur.salt
                && p.spec.condition == cur.condition_spec
                && p.spec.cuped_pre_period_days == cur.cuped_pre_period_days
                && p.spec.metrics == cur.metrics && p.spec.stopping == cur.stopping
                && same_variants(p.spec.variants, cur.variants);
    p.action = same ? apply_action::unchanged : apply_action::updated;
    plan.push_back(std::move(p));
  }
  return plan;
}

namespace {

// Each variant's bucket range, as (name, end) in order: two specs bucket alike exactly
// when these agree.
template <class Variants>
std::vector<std::pair<std::string, std::uint32_t>> ranges_of(const Variants& variants) {
  std::vector<std::pair<std::string, std::uint32_t>> out;
  std::uint32_t end = 0;
  for (auto& v : variants) {
    end += bucket_width(v.allocation);
    out.emplace_back(v.name, end);
  }
  return out;
}

} // namespace

std::vector<std::string> bucketing_changes(const std::vector<planned_experiment>& plan) {
  std::vector<std::string> out;
  for (auto& p : plan) {
    if (p.action != apply_action::updated || p.current == nullptr)
      continue;
    auto status = p.current->status;
    if (status != experiment_status::running && status != experiment_status::paused)
      continue;
    if (p.spec.salt.value_or(p.spec.name) != p.current->salt)
      continue;
    if (ranges_of(p.current->variants) != ranges_of(p.spec.variants))
      out.push_back(p.current->name);
  }
  return out;
}

} // namespace expd::core
