#include "runtime/policy_store.hpp"

#include <pqxx/pqxx>

#include "core/field_error.hpp"

namespace expd::runtime {

namespace {

constexpr const char* rfc3339 = R"('YYYY-MM-DD"T"HH24:MI:SS"Z"')";

std::string model_key(const core::policy_version_spec& v) {
  return v.mlflow_model_name + "/" + std::to_string(v.mlflow_model_version);
}

} // namespace

policy_store::policy_store(std::string pg_url) : session_(std::move(pg_url)) {
}

std::vector<core::stored_policy> policy_store::load() {
  return with_reconnect(session_, [](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<core::stored_policy> out;
    for (auto row : tx.exec(std::string{"SELECT name, description, to_char(created_at AT TIME ZONE 'UTC', "}
                            + rfc3339 + ") FROM exp.policies ORDER BY name"))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), {}, row[2].as<std::string>()});
    auto versions = tx.exec(std::string{"SELECT p.name, v.id::text, v.version, v.mlflow_model_name,"
                                        " v.mlflow_model_version, v.config_defaults::text, v.mlflow_run_id,"
                                        " to_char(v.created_at AT TIME ZONE 'UTC', "}
                            + rfc3339 + ") FROM exp.policy_versions v JOIN exp.policies p ON p.id = v.policy_id"
                                        " ORDER BY p.name, v.version");
    std::size_t at = 0;
    for (auto row : versions) {
      auto name = row[0].as<std::string>();
      while (at < out.size() && out[at].name != name)
        ++at;
      if (at == out.size())
        break;
      core::stored_policy_version v;
      v.id_text = row[1].as<std::string>();
      v.id = core::uuid::parse(v.id_text).value_or(core::uuid{});
      v.spec.version = row[2].as<int>();
      v.spec.mlflow_model_name = row[3].as<std::string>();
      // Rows written before the check constraint may hold other text; 0 never matches.
      try {
        v.spec.mlflow_model_version = std::stoi(row[4].as<std::string>());
      } catch (const std::exception&) {
        v.spec.mlflow_model_version = 0;
      }
      v.spec.config_defaults = nlohmann::json::parse(row[5].as<std::string>());
      v.mlflow_run_id = row[6].as<std::string>();
      v.created_at = row[7].as<std::string>();
      out[at].versions.push_back(std::move(v));
    }
    return out;
  });
}

void policy_store::apply(const std::vector<core::planned_policy>& plan,
                         const std::map<std::string, std::string>& run_ids) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    for (std::size_t i = 0; i < plan.size(); ++i) {
      auto& p = plan[i];
      bool versions_created = false;
      for (auto& v : p.versions)
        versions_created = versions_created || v.action == core::apply_action::created;
      if (p.action == core::apply_action::unchanged && !versions_created)
        continue;
      auto id = tx.exec_params1("INSERT INTO exp.policies (name, description) VALUES ($1, $2)"
                                " ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,"
                                " updated_at = CASE WHEN exp.policies.description = EXCLUDED.description"
                                " THEN exp.policies.updated_at ELSE now() END RETURNING id::text",
                                p.spec.name, p.spec.description)[0]
                  .as<std::string>();
      for (std::size_t j = 0; j < p.versions.size(); ++j) {
        auto& v = p.versions[j];
        if (v.action != core::apply_action::created)
          continue;
        auto run = run_ids.find(model_key(v.spec));
        auto defaults = v.spec.config_defaults.dump();
        auto inserted = tx.exec_params(
          "INSERT INTO exp.policy_versions (policy_id, version, mlflow_model_name, mlflow_model_version,"
          " config_defaults, mlflow_run_id) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6)"
          " ON CONFLICT (policy_id, version) DO NOTHING RETURNING id",
          id, v.spec.version, v.spec.mlflow_model_name, std::to_string(v.spec.mlflow_model_version),
          defaults, run == run_ids.end() ? std::string{} : run->second);
        if (!inserted.empty()) {
          // Replays of the model before a policy served it now count for this version.
          tx.exec_params("UPDATE exp.offline_replay_results SET policy_version_id = $1::uuid"
                         " WHERE mlflow_model_name = $2 AND mlflow_model_version = $3 AND policy_version_id IS NULL",
                         inserted[0][0].as<std::string>(), v.spec.mlflow_model_name,
                         static_cast<int>(v.spec.mlflow_model_version));
          continue;
        }
        auto same = tx.exec_params1("SELECT mlflow_model_name = $3 AND mlflow_model_version = $4"
                                    " AND config_defaults = $5::jsonb FROM exp.policy_versions"
                                    " WHERE policy_id = $1::uuid AND version = $2",
                                    id, v.spec.version, v.spec.mlflow_model_name,
                                    std::to_string(v.spec.mlflow_model_version), defaults)[0]
                      .as<bool>();
        if (!same)
          throw core::field_error("policies[" + std::to_string(i) + "].versions[" + std::to_string(j) + "]",
                                  p.spec.name + " version " + std::to_string(v.spec.version)
                                    + " was just stored by another apply with other values;"
                                      " nothing was applied: look again (GET /admin/v1/policies)");
      }
    }
    tx.commit();
  });
}

} // namespace expd::runtime
