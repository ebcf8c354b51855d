#include "core/snapshot.hpp"

#include <algorithm>

namespace expd::core {

namespace {

// At namespace scope rather than a function-local static: no guard check per request.
const std::vector<const experiment*> no_experiments;

} // namespace

snapshot::snapshot(std::uint64_t version, std::vector<experiment> experiments, saved_groups_ptr groups)
  : version_(version), experiments_(std::move(experiments)),
    groups_(groups ? std::move(groups) : std::make_shared<const saved_group_set>()) {
  std::sort(experiments_.begin(), experiments_.end(),
            [](const experiment& a, const experiment& b) { return a.name < b.name; });
  for (auto& e : experiments_) {
    e.derive(groups_.get());
    by_key_.emplace(e.name, &e);
    by_key_.emplace(e.id_text, &e);
    if (e.status != experiment_status::running && e.status != experiment_status::paused)
      continue;
    auto served = std::find_if(served_.begin(), served_.end(),
                               [&e](auto& s) { return s.unit_type == e.unit_type; });
    if (served == served_.end())
      served = served_.insert(served_.end(), {e.unit_type, {}});
    served->experiments.push_back(&e);
  }
}

const experiment* snapshot::find(std::string_view key) const noexcept {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

const std::vector<const experiment*>& snapshot::served_for(std::string_view unit_type) const {
  for (auto& served : served_)
    if (served.unit_type == unit_type)
      return served.experiments;
  return no_experiments;
}

} // namespace expd::core
