#include "runtime/pipeline_store.hpp"

#include <pqxx/pqxx>

namespace expd::runtime {

namespace {

using nlohmann::json;

#define EXPD_MICROS(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"
// A time in microseconds as a bind value; 0 binds NULL.
#define EXPD_TIMESTAMP(n) "to_timestamp(nullif($" #n "::bigint, 0)::double precision / 1000000)"

constexpr const char* run_columns =
  "id::text, inputs::text, " EXPD_MICROS("scheduled_for") ", trigger, status, steps::text, error, node, "
  EXPD_MICROS("started_at") ", " EXPD_MICROS("finished_at");

core::pipeline_spec spec_of(const json& spec) {
  return core::parse_pipeline_document(json{{"pipelines", json::array({spec})}}).front();
}

core::pipeline_run run_of(const pqxx::row& r) {
  core::pipeline_run run;
  run.id = r[0].as<std::string>();
  run.spec = spec_of(json::parse(r[1].as<std::string>()).at("pipeline"));
  run.scheduled_for = r[2].as<std::int64_t>();
  run.trigger = core::parse_run_trigger(r[3].as<std::string>());
  run.status = core::parse_run_status(r[4].as<std::string>());
  run.steps = core::parse_run_steps(json::parse(r[5].as<std::string>()));
  run.error = r[6].as<std::string>();
  run.node = r[7].as<std::string>();
  run.started_at = r[8].as<std::int64_t>();
  run.finished_at = r[9].as<std::int64_t>();
  return run;
}

std::vector<core::pipeline_run> runs_of(const pqxx::result& rows) {
  std::vector<core::pipeline_run> out;
  for (const auto& r : rows)
    out.push_back(run_of(r));
  return out;
}

} // namespace

pipeline_store::pipeline_store(std::string pg_url) : session_(std::move(pg_url)) {
}

std::vector<core::stored_pipeline> pipeline_store::load() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<core::stored_pipeline> out;
    for (auto r : tx.exec("SELECT spec::text, " EXPD_MICROS("schedule_since") ", created_at::text, updated_at::text"
                          " FROM exp.pipelines ORDER BY name"))
      out.push_back({spec_of(json::parse(r[0].as<std::string>())), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                     r[3].as<std::string>()});
    return out;
  });
}

void pipeline_store::apply(const std::vector<core::planned_pipeline>& plan, core::unix_micros now) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    for (auto& p : plan) {
      if (p.action == core::apply_action::unchanged)
        continue;
      // schedule_since moves only when what decides the slots changes.
      tx.exec_params("INSERT INTO exp.pipelines (name, spec, schedule, enabled, schedule_since)"
                     " VALUES ($1, $2::jsonb, $3, $4, " EXPD_TIMESTAMP(5) ")"
                     " ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, schedule = EXCLUDED.schedule,"
                     " enabled = EXCLUDED.enabled, updated_at = now(),"
                     " schedule_since = CASE WHEN exp.pipelines.schedule = EXCLUDED.schedule"
                     "   AND exp.pipelines.enabled = EXCLUDED.enabled THEN exp.pipelines.schedule_since"
                     "   ELSE EXCLUDED.schedule_since END",
                     p.spec.name, core::pipeline_spec_json(p.spec).dump(), p.spec.schedule.text, p.spec.enabled,
                     static_cast<std::int64_t>(now));
    }
    tx.commit();
  });
}

bool pipeline_store::create_run(const core::pipeline_run& run) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto doc = core::pipeline_run_json(run);
    auto r = tx.exec_params("INSERT INTO exp.pipeline_runs (id, pipeline, scheduled_for, trigger, status, node,"
                            " inputs, steps) VALUES ($1::uuid, $2, " EXPD_TIMESTAMP(3) ", $4, $5, $6, $7::jsonb,"
                            " $8::jsonb) ON CONFLICT DO NOTHING",
                            run.id, run.spec.name, static_cast<std::int64_t>(run.scheduled_for),
                            std::string{core::to_string(run.trigger)}, std::string{core::to_string(run.status)},
                            run.node, doc["inputs"].dump(), doc["steps"].dump());
    tx.commit();
    return r.affected_rows() > 0;
  });
}

void pipeline_store::save_run(const core::pipeline_run& run) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.pipeline_runs SET status = $2, started_at = " EXPD_TIMESTAMP(3) ","
                   " finished_at = " EXPD_TIMESTAMP(4) ", steps = $5::jsonb, outputs = $6::jsonb, error = $7"
                   " WHERE id = $1::uuid",
                   run.id, std::string{core::to_string(run.status)}, static_cast<std::int64_t>(run.started_at),
                   static_cast<std::int64_t>(run.finished_at), core::run_steps_json(run.steps).dump(),
                   core::run_outputs_json(run).dump(), run.error);
    tx.commit();
  });
}

std::optional<core::pipeline_run> pipeline_store::find_run(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<core::pipeline_run> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(std::string{"SELECT "} + run_columns + " FROM exp.pipeline_runs WHERE id = $1::uuid",
                               id);
    if (rows.empty())
      return std::nullopt;
    return run_of(rows[0]);
  });
}

std::vector<core::pipeline_run> pipeline_store::runs(const std::string& pipeline, std::size_t limit) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return runs_of(tx.exec_params(std::string{"SELECT "} + run_columns
                                    + " FROM exp.pipeline_runs WHERE $1 = '' OR pipeline = $1"
                                      " ORDER BY created_at DESC, id LIMIT $2",
                                  pipeline, static_cast<std::int64_t>(limit)));
  });
}

std::vector<core::pipeline_run> pipeline_store::unfinished(const std::string& node) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    std::vector<core::pipeline_run> out;
    for (auto r : tx.exec_params(std::string{"SELECT "} + run_columns
                                   + " FROM exp.pipeline_runs WHERE node = $1 AND status IN ('queued', 'running')"
                                     " ORDER BY created_at, id",
                                 node)) {
      try {
        out.push_back(run_of(r));
      } catch (const std::exception& e) { // written by another version of expd: it cannot go on
        tx.exec_params("UPDATE exp.pipeline_runs SET status = 'failed', finished_at = now(), error = $2"
                       " WHERE id = $1::uuid",
                       r[0].as<std::string>(), std::string{"not resumed: its stored inputs cannot be read: "} + e.what());
      }
    }
    tx.commit();
    return out;
  });
}

std::optional<core::unix_micros> pipeline_store::last_scheduled(const std::string& pipeline) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<core::unix_micros> {
    pqxx::read_transaction tx{conn};
    auto r = tx.exec_params1("SELECT (extract(epoch FROM max(scheduled_for)) * 1000000)::bigint"
                             " FROM exp.pipeline_runs WHERE pipeline = $1 AND trigger <> 'manual'",
                             pipeline);
    if (r[0].is_null())
      return std::nullopt;
    return r[0].as<std::int64_t>();
  });
}

} // namespace expd::runtime
