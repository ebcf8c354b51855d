#include "core/experiment.hpp"

#include "core/bucketing.hpp"
#include "core/field_error.hpp"

namespace expd::core {

void experiment::derive(const group_lookup* groups) {
  id_text = id.str();
  shared_salt = std::make_shared<const std::string>(salt);
  name_json = nlohmann::json(name).dump();
  targeting_error.clear();
  try {
    targeting = condition::compile(condition_spec, "condition", groups);
  } catch (const field_error& e) {
    targeting = condition::nobody();
    targeting_error = e.field() + ": " + e.what();
  }
  std::vector<double> allocations;
  allocations.reserve(variants.size());
  for (auto& v : variants) {
    v.id_text = v.id.str();
    v.name_json = nlohmann::json(v.name).dump();
    v.config_json = v.config.dump();
    allocations.push_back(v.allocation);
  }
  range_ends = bucket_range_ends(allocations);
}

const variant* experiment::find_variant(const uuid& vid) const noexcept {
  for (auto& v : variants)
    if (v.id == vid)
      return &v;
  return nullptr;
}

} // namespace expd::core
