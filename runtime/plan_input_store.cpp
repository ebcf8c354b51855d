#include "runtime/plan_input_store.hpp"

#include <pqxx/pqxx>

#include "core/field_error.hpp"
#include "runtime/planner_domain.hpp"

namespace expd::runtime {

namespace {

// One round trip: whose each row is, the unknown recipes, and the input when all are there.
constexpr const char* render_query = R"sql(
SELECT (SELECT count(*) FROM planner.households WHERE household_id = $1),
       (SELECT household_id FROM planner.pantry_snapshots WHERE pantry_id = $2),
       (SELECT household_id FROM planner.constraints WHERE constraint_id = $3),
       (SELECT coalesce(min(x.n), 0) FROM jsonb_array_elements_text($6::jsonb) WITH ORDINALITY AS x(recipe_id, n)
         WHERE NOT EXISTS (SELECT 1 FROM planner.recipes r WHERE r.recipe_id = x.recipe_id)),
       (SELECT planner.plan_input(h, p, c, $4, $5, $6::jsonb)
          FROM planner.households h, planner.pantry_snapshots p, planner.constraints c
         WHERE h.household_id = $1 AND p.pantry_id = $2 AND c.constraint_id = $3))sql";

} // namespace

plan_input_store::plan_input_store(std::string pg_url) : session_(pg_url), policies_(std::move(pg_url)) {
}

std::string plan_input_store::render(const core::plan_input& in, const std::string& path) {
  nlohmann::json previous = in.previous_plan;
  auto row = with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return tx.exec_params1(render_query, in.household_id, in.pantry_id, in.constraint_id, in.workflow, in.mode,
                           previous.dump());
  });
  if (row[0].as<long>() == 0)
    throw core::field_error(path + ".household_id", "no household " + in.household_id + " in planner.households");
  auto owned = [&](int column, const char* field, const std::string& id, const char* table) {
    if (row[column].is_null())
      throw core::field_error(path + "." + field, "no " + std::string(field) + " " + id + " in " + table);
    if (row[column].as<std::string>() != in.household_id)
      throw core::field_error(path + "." + field, std::string(field) + " " + id + " is another household's");
  };
  owned(1, "pantry_id", in.pantry_id, "planner.pantry_snapshots");
  owned(2, "constraint_id", in.constraint_id, "planner.constraints");
  if (auto n = row[3].as<long>(); n > 0)
    throw core::field_error(path + ".previous_plan[" + std::to_string(n - 1) + "]",
                            "no recipe " + in.previous_plan[static_cast<std::size_t>(n - 1)] + " in planner.recipes");
  return row[4].as<std::string>();
}

std::optional<served_policy> plan_input_store::policy(const std::string& reference) {
  if (auto it = known_.find(reference); it != known_.end())
    return it->second;
  auto ref = core::parse_policy_reference(reference);
  if (!ref)
    return std::nullopt;
  auto stored = policies_.load();
  auto* v = core::find_policy_version(stored, *ref);
  if (v == nullptr)
    return std::nullopt;
  served_policy out{v->id_text, v->spec.mlflow_model_name, v->spec.mlflow_model_version};
  known_[reference] = out;
  return out;
}

core::planner_catalogue plan_input_store::catalogue() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return read_planner_catalogue(tx);
  });
}

} // namespace expd::runtime
