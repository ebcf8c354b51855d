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

} // namespace expd::core
