#pragma once

// What the condition_*_test.cpp files share: compile a condition from JSON text and
// evaluate it, or say where compiling it fails.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/condition.hpp"
#include "core/field_error.hpp"
#include "core/saved_group.hpp"

namespace expd::test::condition_support {

using core::condition;
using core::field_error;
using nlohmann::json;

inline bool eval(const std::string& cond, const std::string& context,
                 const core::group_lookup* groups = nullptr) {
  return condition::compile(json::parse(cond), "condition", groups).matches(json::parse(context));
}

// The path field_error names for `cond`, or "" when it compiles.
inline std::string error_path(const std::string& cond, const std::string& path = "condition",
                              const core::group_lookup* groups = nullptr) {
  try {
    condition::compile(json::parse(cond), path, groups);
  } catch (const field_error& e) {
    return e.field();
  }
  return "";
}

// Saved groups from a saved_groups document's list, as JSON text.
inline core::saved_group_set groups_of(const std::string& list) {
  return core::saved_group_set(core::parse_saved_group_document(json{{"saved_groups", json::parse(list)}}));
}

} // namespace expd::test::condition_support
