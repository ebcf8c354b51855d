#pragma once

#include <memory>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "core/assign_request.hpp"
#include "core/assignment_book.hpp"
#include "core/dataset_build.hpp"
#include "core/event_query.hpp"
#include "core/generation.hpp"
#include "core/plan_request.hpp"
#include "core/uuid.hpp"

// CAF inspect functions for the core types that travel in messages. They live here,
// not in core/, so core stays free of CAF; ADL finds them in expd::core.
namespace expd::core {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uuid& x) {
  return f(caf::meta::type_name("expd.uuid"), x.hi, x.lo);
}

/// The context travels as its JSON text: nlohmann's tree is not inspectable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assign_request& x) {
  std::string context;
  if constexpr (Inspector::reads_state)
    context = x.context.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto load = [&]() -> caf::error {
    x.context = nlohmann::json::parse(context, nullptr, false);
    if (x.context.is_discarded())
      return caf::make_error(caf::sec::invalid_argument, "assign_request.context");
    return caf::none;
  };
  return f(caf::meta::type_name("expd.assign_request"), x.unit_type, x.unit_id, context,
           x.requested, x.all, caf::meta::load_callback(load));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_input& x) {
  return f(caf::meta::type_name("expd.plan_input"), x.household_id, x.pantry_id, x.constraint_id, x.workflow,
           x.mode, x.previous_plan);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_request& x) {
  return f(caf::meta::type_name("expd.plan_request"), x.request_id, x.assign, x.input, x.max_new_tokens);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_assignment& x) {
  return f(caf::meta::type_name("expd.plan_assignment"), x.experiment_id, x.experiment_name, x.variant_id,
           x.variant_name, x.policy_version_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dataset_build_request& x) {
  return f(caf::meta::type_name("expd.dataset_build_request"), x.name, x.from, x.to, x.validation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_query& x) {
  bool has_experiment = x.experiment_id.has_value();
  uuid experiment = x.experiment_id.value_or(uuid{});
  auto load = [&]() -> caf::error {
    x.experiment_id = has_experiment ? std::optional<uuid>{experiment} : std::nullopt;
    return caf::none;
  };
  return f(caf::meta::type_name("expd.event_query"), x.unit_id, has_experiment, experiment,
           x.event_type, x.before, x.before_id, x.window, x.limit,
           caf::meta::load_callback(load));
}

/// The salt, shared by the rows of one experiment in a process, travels as a value;
/// a loaded row gets its own copy.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assignment_record& x) {
  std::string salt;
  if constexpr (Inspector::reads_state)
    if (x.salt)
      salt = *x.salt;
  auto load = [&]() -> caf::error {
    x.salt = std::make_shared<const std::string>(std::move(salt));
    return caf::none;
  };
  return f(caf::meta::type_name("expd.assignment_record"), x.experiment_id, x.variant_id,
           x.unit_type, x.unit_id, salt, caf::meta::load_callback(load));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generation_request& x) {
  return f(caf::meta::type_name("expd.generation_request"), x.id, x.prompt, x.max_new_tokens,
           x.temperature, x.top_p, x.top_k, x.seed, x.stop);
}

} // namespace expd::core
