#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace expd::core {

/// A targeting condition on the request context, in the MongoDB-style query language
/// of experimentation SDKs (GrowthBook's evalCondition semantics), compiled once when
/// an experiment is applied and then evaluated on every assignment.
///
/// Operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $regex $and $or $nor $not
/// $all $elemMatch $size $type and the version comparisons $veq $vne $vgt $vgte $vlt
/// $vlte. Attributes are addressed by dotted path ("user.address.country").
class condition {
public:
  /// The empty condition: matches every context.
  condition();

  /// Compiles `spec`. Throws core::field_error naming the path of the fault, built
  /// as `path` + the position inside `spec` (".$and[1].country.$in"), for an unknown
  /// operator, an operand of the wrong type, or an invalid regular expression.
  static condition compile(const nlohmann::json& spec, const std::string& path = "condition");

  /// True when `context` (a JSON object; anything else is treated as {}) satisfies
  /// the condition.
  bool matches(const nlohmann::json& context) const;

  /// True for the empty condition (no spec, null, or {}).
  bool empty() const noexcept;

  struct node;

private:
  explicit condition(std::shared_ptr<const node> root);

  std::shared_ptr<const node> root_;
};

} // namespace expd::core
