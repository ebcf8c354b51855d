#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace expd::core {

class saved_group; // core/saved_group.hpp

/// Where a condition finds the saved groups it names ($inGroup, $notInGroup,
/// $savedGroup, $savedGroups, $notSavedGroups).
class group_lookup {
public:
  virtual ~group_lookup() = default;

  /// The group `name`. Throws core::field_error at `path` when there is none, or when
  /// naming it there would make a cycle of groups.
  virtual std::shared_ptr<const saved_group> find(const std::string& name,
                                                  const std::string& path) const = 0;
};

/// A targeting condition on the request context, in the MongoDB-style query language
/// of experimentation SDKs (GrowthBook's evalCondition semantics), compiled once when
/// an experiment is applied and again for each snapshot, and then evaluated on every
/// assignment. docs/targeting.md lists the operators and their type rules.
///
/// Operators: $eq $ne $gt $gte $lt $lte $in $nin $ini $nini $exists $regex $regexi
/// $and $or $nor $not $all $alli $elemMatch $size $type, the version comparisons $veq
/// $vne $vgt $vgte $vlt $vlte, and the saved groups' $inGroup $notInGroup $savedGroup
/// $savedGroups $notSavedGroups. Attributes are addressed by dotted path
/// ("user.address.country"); a context-level key that is not an operator is an
/// attribute, even when it starts with '$'.
class condition {
public:
  /// The empty condition: matches every context.
  condition();

  /// Compiles `spec`. Throws core::field_error naming the path of the fault, built
  /// as `path` + the position inside `spec` (".$and[1].country.$in"), for an unknown
  /// operator, an operand of the wrong type, an invalid regular expression, or a saved
  /// group `groups` does not have (nullptr: none is known).
  static condition compile(const nlohmann::json& spec, const std::string& path = "condition",
                           const group_lookup* groups = nullptr);

  /// A condition no context matches: an experiment's whose stored condition no longer
  /// compiles, so that it serves nobody rather than everybody.
  static condition nobody();

  /// True when `context` (a JSON object; anything else is treated as {}) satisfies
  /// the condition.
  bool matches(const nlohmann::json& context) const;

  /// True for the empty condition (no spec, null, or {}).
  bool empty() const noexcept;

  /// The saved groups the spec names itself (not those the groups' own conditions
  /// name), sorted and without repeats.
  const std::vector<std::string>& saved_groups() const noexcept;

  struct node;

private:
  condition(std::shared_ptr<const node> root, std::vector<std::string> groups);

  std::shared_ptr<const node> root_;
  std::shared_ptr<const std::vector<std::string>> groups_;
};

} // namespace expd::core
