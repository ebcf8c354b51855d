#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace expd::core {

/// A dotted attribute path of a targeting condition ("user.address.country",
/// "items.0.sku"), split once and then read from each context as GrowthBook's getPath
/// reads it (docs/targeting.md, "Paths").
class attribute_path {
public:
  attribute_path() = default;
  explicit attribute_path(const std::string& dotted);

  /// The value at the path in `object`; null when a step is missing or its value is
  /// neither an object nor an array (a missing attribute is null). Inline: it runs for
  /// every attribute a condition reads on every assignment.
  const nlohmann::json& in(const nlohmann::json& object) const {
    const nlohmann::json* at = &object; // the containers, not json's iterators
    for (const auto& step : steps_) {
      const nlohmann::json* next = nullptr;
      if (auto map = at->get_ptr<const nlohmann::json::object_t*>()) {
        auto it = map->find(step.key);
        next = it == map->end() ? nullptr : &it->second;
      } else if (auto array = at->get_ptr<const nlohmann::json::array_t*>()) {
        next = step.index < array->size() ? &(*array)[step.index] : nullptr;
      }
      if (!(at = next))
        return missing();
    }
    return *at;
  }

private:
  static const nlohmann::json& missing() noexcept; // null

  struct step {
    std::string key;
    std::size_t index; // npos unless key is a canonical array index ("0", "12", not "01")
  };
  std::vector<step> steps_;
};

} // namespace expd::core
