#include "core/experiment.hpp"

#include "core/bucketing.hpp"

namespace expd::core {

void experiment::derive() {
  id_text = id.str();
  shared_salt = std::make_shared<const std::string>(salt);
  name_json = nlohmann::json(name).dump();
  targeting = condition::compile(condition_spec);
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
