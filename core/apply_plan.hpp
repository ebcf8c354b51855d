#pragma once

#include <string>
#include <vector>

#include "core/experiment.hpp"

namespace expd::core {

enum class apply_action { created, updated, unchanged };

std::string_view to_string(apply_action action) noexcept;

/// What applying one experiment spec does to the current state.
struct planned_experiment {
  apply_action action = apply_action::unchanged;
  experiment_spec spec;          ///< with status and salt resolved
  const experiment* current = nullptr; ///< nullptr when created
};

/// Decides, for a whole document, what applying it changes, and refuses changes that
/// would break sticky assignments or the status life cycle: an invalid status move,
/// a new unit_type or removed variants once the experiment has left draft. Throws
/// core::field_error naming "experiments[i]...". Experiments the document does not
/// name are left alone.
std::vector<planned_experiment> plan_apply(const std::vector<experiment_spec>& specs,
                                           const std::vector<experiment>& current);

/// The running or paused experiments whose buckets the plan moves under the same salt
/// (a variant's range starts, ends or changes hands): a unit assigned before and not
/// yet stored would be given another variant by a node that does not know its row.
/// Renaming the salt is not among them: it re-randomises on purpose.
std::vector<std::string> bucketing_changes(const std::vector<planned_experiment>& plan);

} // namespace expd::core
