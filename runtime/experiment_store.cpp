#include "runtime/experiment_store.hpp"

#include <unordered_map>

#include <pqxx/pqxx>

namespace expd::runtime {

namespace {

constexpr const char* rfc3339 = R"('YYYY-MM-DD"T"HH24:MI:SS"Z"')";

std::string joined_names(const std::vector<core::variant_spec>& variants) {
  // Names are identifiers ([A-Za-z0-9_.-]), so ',' cannot occur inside one.
  std::string out;
  for (auto& v : variants) {
    if (!out.empty())
      out += ',';
    out += v.name;
  }
  return out;
}

} // namespace

experiment_store::experiment_store(std::string pg_url) : session_(std::move(pg_url)) {
}

// A connection that broke since the last call is retried once on a fresh one.
template <class F>
auto experiment_store::with_retry(F&& fn) {
  try {
    return fn(session_.get());
  } catch (const pqxx::broken_connection&) {
    session_.reset();
    return fn(session_.get());
  }
}

std::vector<core::experiment> experiment_store::load() {
  return with_retry([](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec(std::string{"SELECT id, name, unit_type, description, status, salt,"
                                    " COALESCE(condition::text, 'null'),"
                                    " to_char(created_at AT TIME ZONE 'UTC', "}
                        + rfc3339 + "), to_char(updated_at AT TIME ZONE 'UTC', " + rfc3339
                        + "), cuped_pre_period_days, metrics::text, stopping::text, status_reason,"
                        " to_char(status_changed_at AT TIME ZONE 'UTC', " + rfc3339 + ")"
                        " FROM exp.experiments ORDER BY name");
    std::vector<core::experiment> out;
    std::unordered_map<std::string, std::size_t> index;
    for (auto row : rows) {
      core::experiment e;
      auto id = row[0].as<std::string>();
      e.id = *core::uuid::parse(id);
      e.name = row[1].as<std::string>();
      e.unit_type = row[2].as<std::string>();
      e.description = row[3].as<std::string>();
      e.status = core::parse_status(row[4].as<std::string>()).value_or(core::experiment_status::draft);
      e.salt = row[5].as<std::string>();
      e.condition_spec = nlohmann::json::parse(row[6].as<std::string>());
      e.created_at = row[7].as<std::string>();
      e.updated_at = row[8].as<std::string>();
      if (!row[9].is_null())
        e.cuped_pre_period_days = row[9].as<int>();
      if (!row[10].is_null())
        e.metrics = core::parse_experiment_metrics(nlohmann::json::parse(row[10].as<std::string>()), "metrics");
      if (!row[11].is_null())
        e.stopping = core::parse_stopping_rules(nlohmann::json::parse(row[11].as<std::string>()), "stopping");
      e.status_reason = row[12].as<std::string>();
      if (!row[13].is_null())
        e.status_changed_at = row[13].as<std::string>();
      index.emplace(std::move(id), out.size());
      out.push_back(std::move(e));
    }
    auto vrows = tx.exec("SELECT experiment_id, id, name, allocation, config::text"
                         " FROM exp.variants ORDER BY experiment_id, position");
    for (auto row : vrows) {
      auto it = index.find(row[0].as<std::string>());
      if (it == index.end())
        continue;
      core::variant v;
      v.id = *core::uuid::parse(row[1].as<std::string>());
      v.name = row[2].as<std::string>();
      v.allocation = row[3].as<double>();
      v.config = nlohmann::json::parse(row[4].as<std::string>());
      out[it->second].variants.push_back(std::move(v));
    }
    return out;
  });
}

void experiment_store::apply(const std::vector<core::planned_experiment>& plan) {
  with_retry([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    for (auto& p : plan) {
      if (p.action == core::apply_action::unchanged)
        continue;
      auto& s = p.spec;
      auto status = std::string{core::to_string(*s.status)};
      auto id = tx.exec_params1(
                    "INSERT INTO exp.experiments"
                    " (name, unit_type, description, status, salt, condition, start_at, end_at,"
                    "  cuped_pre_period_days, metrics, stopping)"
                    " VALUES ($1, $2, $3, $4, $5, NULLIF($6, 'null')::jsonb,"
                    "  CASE WHEN $4 = 'running' THEN now() END,"
                    "  CASE WHEN $4 = 'stopped' THEN now() END, $7, NULLIF($8, 'null')::jsonb,"
                    "  NULLIF($9, 'null')::jsonb)"
                    " ON CONFLICT (name) DO UPDATE SET unit_type = EXCLUDED.unit_type,"
                    "  description = EXCLUDED.description, status = EXCLUDED.status,"
                    "  salt = EXCLUDED.salt, condition = EXCLUDED.condition, updated_at = now(),"
                    "  cuped_pre_period_days = EXCLUDED.cuped_pre_period_days,"
                    "  metrics = EXCLUDED.metrics, stopping = EXCLUDED.stopping,"
                    "  start_at = COALESCE(exp.experiments.start_at, EXCLUDED.start_at),"
                    "  end_at = COALESCE(exp.experiments.end_at, EXCLUDED.end_at)"
                    " RETURNING id",
                    s.name, s.unit_type, s.description, status, *s.salt, s.condition.dump(),
                    s.cuped_pre_period_days, core::experiment_metrics_json(s.metrics).dump(),
                    core::stopping_rules_json(s.stopping).dump())[0]
                  .as<std::string>();
      for (std::size_t i = 0; i < s.variants.size(); ++i) {
        auto& v = s.variants[i];
        tx.exec_params("INSERT INTO exp.variants"
                       " (experiment_id, name, position, allocation, config)"
                       " VALUES ($1, $2, $3, $4, $5::jsonb)"
                       " ON CONFLICT (experiment_id, name) DO UPDATE SET"
                       "  position = EXCLUDED.position, allocation = EXCLUDED.allocation,"
                       "  config = EXCLUDED.config, updated_at = now()",
                       id, v.name, static_cast<int>(i), v.allocation, v.config.dump());
      }
      tx.exec_params("DELETE FROM exp.variants WHERE experiment_id = $1"
                     " AND NOT (name = ANY (string_to_array($2, ',')))",
                     id, joined_names(s.variants));
    }
    tx.commit();
  });
}

void experiment_store::set_status(const std::string& name, core::experiment_status status,
                                  const std::string& reason) {
  with_retry([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.experiments SET status = $2, updated_at = now(),"
                   " status_reason = $3, status_changed_at = now(),"
                   " start_at = COALESCE(start_at, CASE WHEN $2 = 'running' THEN now() END),"
                   " end_at = CASE WHEN $2 = 'stopped' THEN now() ELSE end_at END"
                   " WHERE name = $1",
                   name, std::string{core::to_string(status)}, reason);
    tx.commit();
  });
}

std::uint64_t experiment_store::announce() {
  return with_retry([](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto version = tx.exec("SELECT nextval('exp.snapshot_versions') + 1")[0][0].as<std::uint64_t>();
    tx.exec("NOTIFY expd_cluster, 'experiments'");
    tx.commit();
    return version;
  });
}

std::uint64_t experiment_store::version() {
  return with_retry([](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    auto row = tx.exec("SELECT last_value, is_called FROM exp.snapshot_versions")[0];
    return row[1].as<bool>() ? row[0].as<std::uint64_t>() + 1 : std::uint64_t{1};
  });
}

void experiment_store::ping() {
  with_retry([](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    tx.exec("SELECT 1");
  });
}

} // namespace expd::runtime
