#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace expd::core {

/// The scalars of a JSON list, looked up by JavaScript's `===` in O(1) however long the
/// list: `$in`, `$nin`, `$ini`, `$nini` and saved groups' id lists. Arrays and objects
/// in the list are never `===` to anything, so they are left out.
class value_set {
public:
  value_set() = default;

  /// `fold`: strings compare by their JavaScript toLowerCase() (core/text_case.hpp),
  /// as GrowthBook's case-insensitive operators compare them; other values as they are.
  explicit value_set(const nlohmann::json& list, bool fold = false);

  value_set(value_set&&) noexcept = default;
  value_set& operator=(value_set&&) noexcept = default;

  /// `value` is listed.
  bool contains(const nlohmann::json& value) const;

  /// GrowthBook's isIn: an array value intersects the list (one of its elements is
  /// listed); any other value is listed.
  bool matches(const nlohmann::json& value) const;

  /// How many distinct values are listed.
  std::size_t size() const noexcept;

private:
  // The strings' bytes, once: the set's views point into it, so moving keeps them valid.
  std::unique_ptr<char[]> text_;
  std::unordered_set<std::string_view> strings_;
  std::unordered_set<double> numbers_; // std::hash<double> hashes -0 as 0, and -0 === 0
  bool has_true_ = false, has_false_ = false, has_null_ = false;
  bool fold_ = false;
};

} // namespace expd::core
