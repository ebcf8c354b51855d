#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/attribute_path.hpp"
#include "core/condition.hpp"
#include "core/value_set.hpp"

namespace expd::core {

/// What the operator writes for one saved group (saved_groups in YAML,
/// docs/targeting.md#saved-groups): an id list (GrowthBook's "ID list": an attribute
/// key and the values it may have) or a named condition.
struct saved_group_spec {
  std::string name;
  std::string description;
  std::string attribute_key;   ///< an id list's attribute path ("id", "user.id"); empty for a condition
  nlohmann::json values;       ///< an id list's ids (strings and numbers); null for a condition
  nlohmann::json condition;    ///< a condition group's condition; null for an id list

  bool is_list() const noexcept {
    return condition.is_null();
  }
};

bool operator==(const saved_group_spec& a, const saved_group_spec& b);

/// Limits of one saved groups document; past them the document is refused.
struct saved_group_limits {
  std::size_t max_groups = 1000;
  std::size_t max_values = 1000000;  ///< ids of one list
  std::size_t max_value_bytes = 1024; ///< one id's text
};

/// Reads `{"saved_groups":[...]}` into specs. Everything is checked: names, unknown
/// fields, duplicate names, the kind (attribute_key with values, or condition), each
/// value a string or a number. Conditions are compiled with the other groups later
/// (saved_group_set). Throws core::field_error with the path of the first fault
/// ("saved_groups[1].values[3]").
std::vector<saved_group_spec> parse_saved_group_document(const nlohmann::json& doc,
                                                         const saved_group_limits& limits = {});

/// The document entry of `spec`, as GET /admin/v1/saved-groups lists it.
nlohmann::json saved_group_json(const saved_group_spec& spec);

/// A saved group compiled for the conditions that name it: an id list's ids in a hash
/// set, a condition group's condition compiled once.
class saved_group {
public:
  saved_group(saved_group_spec spec, condition compiled);

  const std::string& name() const noexcept {
    return spec_.name;
  }

  const saved_group_spec& spec() const noexcept {
    return spec_;
  }

  bool is_list() const noexcept {
    return spec_.is_list();
  }

  /// An id list: `value` is one of the ids, or (an array) one of its elements is, by
  /// `===` ($inGroup). A condition group has no ids.
  bool has_id(const nlohmann::json& value) const;

  /// The group holds for `context`: the value at the id list's attribute is one of its
  /// ids, or the condition matches ($savedGroup).
  bool holds(const nlohmann::json& context) const;

  /// The groups the condition names (none for an id list).
  const std::vector<std::string>& saved_groups() const noexcept {
    return condition_.saved_groups();
  }

private:
  saved_group_spec spec_;
  attribute_path key_;
  value_set ids_;
  condition condition_;
};

/// Every saved group of a snapshot, by name. Builds them in the order their conditions
/// need (a condition group may name other groups) and refuses a cycle.
class saved_group_set final : public group_lookup {
public:
  saved_group_set() = default;

  /// Compiles `specs`; `paths[i]` names specs[i] in errors ("saved_groups[2]"; by
  /// default "saved_groups.NAME"). Throws core::field_error at the fault: an invalid
  /// condition, an unknown group, a cycle of groups.
  explicit saved_group_set(std::vector<saved_group_spec> specs,
                           const std::vector<std::string>& paths = {});

  std::shared_ptr<const saved_group> find(const std::string& name,
                                          const std::string& path) const override;

  /// The group `name`, or nullptr.
  const saved_group* get(std::string_view name) const;

  /// Every group, in name order.
  std::vector<const saved_group*> all() const;

  std::size_t size() const noexcept {
    return groups_.size();
  }

private:
  std::map<std::string, std::shared_ptr<const saved_group>, std::less<>> groups_;
};

using saved_groups_ptr = std::shared_ptr<const saved_group_set>;

} // namespace expd::core
