#include "core/snapshot.hpp"

#include <algorithm>

namespace expd::core {

snapshot::snapshot(std::uint64_t version, std::vector<experiment> experiments)
  : version_(version), experiments_(std::move(experiments)) {
  std::sort(experiments_.begin(), experiments_.end(),
            [](const experiment& a, const experiment& b) { return a.name < b.name; });
  for (auto& e : experiments_) {
    e.derive();
    by_key_.emplace(e.name, &e);
    by_key_.emplace(e.id_text, &e);
    if (e.status == experiment_status::running || e.status == experiment_status::paused)
      served_[e.unit_type].push_back(&e);
  }
}

const experiment* snapshot::find(std::string_view key) const noexcept {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

const std::vector<const experiment*>& snapshot::served_for(std::string_view unit_type) const {
  static const std::vector<const experiment*> none;
  auto it = served_.find(unit_type);
  return it == served_.end() ? none : it->second;
}

} // namespace expd::core
