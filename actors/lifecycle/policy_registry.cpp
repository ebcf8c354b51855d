#include "actors/lifecycle/policy_registry.hpp"

#include <map>
#include <memory>
#include <optional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/field_error.hpp"
#include "core/policy_document.hpp"
#include "runtime/log.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/policy_store.hpp"

namespace expd {

namespace {

using nlohmann::json;
using runtime::log;
using runtime::log_level;

struct policy_registry_state {
  std::unique_ptr<runtime::policy_store> store;
  std::unique_ptr<runtime::mlflow_client> mlflow; ///< null without --mlflow
  std::uint64_t applies = 0;
  std::uint64_t versions_created = 0;
  std::uint64_t refused = 0;
};

using self_ptr = policy_registry_actor::stateful_pointer<policy_registry_state>;

caf::error database_error(const std::exception& e) {
  log(log_level::error, "policy_database_error", {{"error", e.what()}});
  return make_error(ec::database_unavailable, "", "PostgreSQL did not answer; nothing was applied");
}

json describe(const core::stored_policy& p) {
  json versions = json::array();
  for (auto& v : p.versions)
    versions.push_back({{"id", v.id_text},
                        {"version", v.spec.version},
                        {"mlflow_model_name", v.spec.mlflow_model_name},
                        {"mlflow_model_version", std::to_string(v.spec.mlflow_model_version)},
                        {"mlflow_run_id", v.mlflow_run_id},
                        {"config_defaults", v.spec.config_defaults},
                        {"created_at", v.created_at}});
  return {{"name", p.name},
          {"description", p.description},
          {"created_at", p.created_at},
          {"versions", std::move(versions)}};
}

// The MLflow runs of the model versions the plan adds, by "model/version"; a version
// MLflow does not have (or not yet READY) refuses the whole document, naming it.
caf::expected<std::map<std::string, std::string>> check_models(self_ptr self,
                                                               const std::vector<core::planned_policy>& plan) {
  std::map<std::string, std::string> runs;
  for (std::size_t i = 0; i < plan.size(); ++i)
    for (std::size_t j = 0; j < plan[i].versions.size(); ++j) {
      auto& v = plan[i].versions[j];
      if (v.action != core::apply_action::created)
        continue;
      auto field = "policies[" + std::to_string(i) + "].versions[" + std::to_string(j)
                   + "].mlflow_model_version";
      auto model = v.spec.mlflow_model_name + "/" + std::to_string(v.spec.mlflow_model_version);
      if (!self->state.mlflow)
        return make_error(ec::unavailable, field,
                          "this node has no --mlflow, so it cannot check that MLflow has " + model
                            + " (policies reference MLflow model versions only); nothing was applied");
      try {
        auto found = self->state.mlflow->get_model_version(v.spec.mlflow_model_name, v.spec.mlflow_model_version);
        if (found.status != "READY")
          return make_error(ec::invalid_policy, field,
                            "MLflow's " + model + " is " + found.status + ", not READY; nothing was applied");
        runs[model] = found.run_id;
      } catch (const runtime::mlflow_api_error& e) {
        if (e.code() == runtime::mlflow_code::resource_does_not_exist)
          return make_error(ec::invalid_policy, field,
                            "MLflow has no model version " + model + " (policies reference MLflow model "
                              "versions only); nothing was applied");
        log(log_level::warn, "policy_mlflow_refused", {{"model", model}, {"error", e.what()}});
        return make_error(ec::unavailable, field,
                          "MLflow refused to look up " + model + ": " + e.message() + "; nothing was applied");
      } catch (const std::exception& e) {
        log(log_level::warn, "policy_mlflow_unavailable", {{"model", model}, {"error", e.what()}});
        return make_error(ec::unavailable, field,
                          "MLflow did not answer the look-up of " + model + "; nothing was applied, retry");
      }
    }
  return runs;
}

caf::expected<api_reply> apply_policies(self_ptr self, const std::string& body, bool dry_run) {
  auto& st = self->state;
  json doc;
  std::vector<core::policy_spec> specs;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  try {
    specs = core::parse_policy_document(doc);
  } catch (const core::field_error& e) {
    ++st.refused;
    return make_error(ec::invalid_policy, e.field(), e.what());
  }
  std::vector<core::stored_policy> current;
  try {
    current = st.store->load();
  } catch (const std::exception& e) {
    return database_error(e);
  }
  std::vector<core::planned_policy> plan;
  try {
    plan = core::plan_policy_apply(specs, current);
  } catch (const core::field_error& e) {
    ++st.refused;
    return make_error(ec::invalid_policy, e.field(), e.what());
  }
  auto runs = check_models(self, plan);
  if (!runs) {
    ++st.refused;
    return std::move(runs.error());
  }
  bool changes = false;
  std::uint64_t created = 0;
  for (auto& p : plan) {
    changes = changes || p.action != core::apply_action::unchanged;
    for (auto& v : p.versions)
      created += v.action == core::apply_action::created;
  }
  changes = changes || created > 0;
  if (changes && !dry_run) {
    try {
      st.store->apply(plan, *runs);
    } catch (const core::field_error& e) {
      ++st.refused;
      return make_error(ec::invalid_policy, e.field(), e.what());
    } catch (const std::exception& e) {
      return database_error(e);
    }
    ++st.applies;
    st.versions_created += created;
    log(log_level::info, "policies_applied", {{"policies", plan.size()}, {"versions_created", created}});
  }
  std::vector<core::stored_policy> now;
  if (changes && !dry_run) {
    try {
      now = st.store->load();
    } catch (const std::exception& e) {
      log(log_level::warn, "policy_reload_failed", {{"error", e.what()}});
    }
  } else {
    now = std::move(current);
  }
  json items = json::array();
  for (auto& p : plan) {
    json versions = json::array();
    for (auto& v : p.versions) {
      std::optional<std::string> id;
      for (auto& stored : now)
        if (stored.name == p.spec.name)
          for (auto& sv : stored.versions)
            if (sv.spec.version == v.spec.version)
              id = sv.id_text;
      versions.push_back({{"version", v.spec.version},
                          {"id", id ? json(*id) : json(nullptr)},
                          {"mlflow_model", v.spec.mlflow_model_name + "/"
                                             + std::to_string(v.spec.mlflow_model_version)},
                          {"action", core::to_string(v.action)}});
    }
    items.push_back({{"name", p.spec.name},
                     {"action", core::to_string(p.action)},
                     {"versions", std::move(versions)}});
  }
  return json_reply(200, {{"dry_run", dry_run}, {"policies", std::move(items)}});
}

} // namespace

policy_registry_actor spawn_policy_registry(caf::actor_system& sys, policy_registry_config cfg) {
  return sys.spawn<caf::detached>(
    [](self_ptr self, policy_registry_config cfg) -> policy_registry_actor::behavior_type {
      self->state.store = std::make_unique<runtime::policy_store>(cfg.pg_url);
      if (!cfg.mlflow_uri.empty()) {
        // An apply waits on these look-ups, inside the gateway's request timeout.
        auto mcfg = runtime::mlflow_config_from_uri(cfg.mlflow_uri);
        mcfg.attempts = 2;
        mcfg.connect_timeout = std::chrono::milliseconds{1000};
        mcfg.timeout = std::chrono::milliseconds{2000};
        self->state.mlflow = std::make_unique<runtime::mlflow_client>(mcfg);
      }
      return {
        [=](atom::apply, const std::string& body, bool dry_run) -> caf::result<api_reply> {
          return apply_policies(self, body, dry_run);
        },
        [=](atom::list) -> caf::result<api_reply> {
          try {
            json list = json::array();
            for (auto& p : self->state.store->load())
              list.push_back(describe(p));
            return json_reply(200, {{"policies", std::move(list)}});
          } catch (const std::exception& e) {
            return database_error(e);
          }
        },
        [=](atom::status) -> status_record {
          auto& st = self->state;
          return {"policy_registry",
                  {{"expd_policy_applies_total", "counter", "Policies documents applied with changes.", "",
                    static_cast<double>(st.applies)},
                   {"expd_policy_versions_created_total", "counter", "Policy versions stored.", "",
                    static_cast<double>(st.versions_created)},
                   {"expd_policy_refused_total", "counter",
                    "Policies documents refused (invalid, a changed version, a model MLflow lacks).", "",
                    static_cast<double>(st.refused)}}};
        },
      };
    },
    std::move(cfg));
}

} // namespace expd
