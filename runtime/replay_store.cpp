#include "runtime/replay_store.hpp"

#include <pqxx/pqxx>

#include "runtime/pg_rfc3339.hpp"
#include "runtime/planner_domain.hpp"

namespace expd::runtime {

namespace {

constexpr const char* columns
  = "id::text, request::text, status, coalesce(verdict, ''), coalesce(summary::text, 'null'), coalesce(error, ''),"
    " coalesce(runner, ''), attempts, coalesce(mlflow_run_id, ''), " EXPD_PG_RFC3339("created_at") ", "
    EXPD_PG_RFC3339("started_at") ", " EXPD_PG_RFC3339("finished_at");

replay_row row_of(const pqxx::row& r) {
  replay_row x;
  x.id = r[0].as<std::string>();
  x.request = core::parse_replay_request(nlohmann::json::parse(r[1].as<std::string>()));
  x.status = r[2].as<std::string>();
  x.verdict = r[3].as<std::string>();
  x.summary = nlohmann::json::parse(r[4].as<std::string>());
  x.error = r[5].as<std::string>();
  x.runner = r[6].as<std::string>();
  x.attempts = r[7].as<int>();
  x.mlflow_run_id = r[8].as<std::string>();
  x.created_at = r[9].as<std::string>();
  x.started_at = r[10].as<std::string>();
  x.finished_at = r[11].as<std::string>();
  return x;
}

} // namespace

replay_store::replay_store(std::string pg_url) : session_(std::move(pg_url)) {
}

void replay_store::create(const std::string& id, const core::replay_request& r) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("INSERT INTO exp.replays (id, candidate_model, candidate_version, baseline_model,"
                   " baseline_version, dataset, request) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::jsonb)",
                   id, r.candidate.name, r.candidate.version, r.baseline.name, r.baseline.version, r.dataset,
                   core::replay_request_json(r).dump());
    tx.commit();
  });
}

std::optional<replay_row> replay_store::claim(const std::string& runner, int stale_seconds) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<replay_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec_params(
      std::string{"UPDATE exp.replays SET status = 'running', runner = $1, heartbeat_at = now(), verdict = NULL,"
                  " summary = NULL,"
                  " started_at = coalesce(started_at, now()), attempts = attempts + 1"
                  " WHERE id = (SELECT id FROM exp.replays WHERE status = 'queued'"
                  "   OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2))"
                  "   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                  " RETURNING "}
        + columns,
      runner, stale_seconds);
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return row_of(rows[0]);
  });
}

void replay_store::heartbeat(const std::string& id, const std::string& runner) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.replays SET heartbeat_at = now() WHERE id = $1::uuid AND runner = $2"
                   " AND status = 'running'",
                   id, runner);
    tx.commit();
  });
}

void replay_store::requeue(const std::string& runner) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.replays SET status = 'queued', verdict = NULL, summary = NULL"
                   " WHERE runner = $1 AND status = 'running'",
                   runner);
    tx.commit();
  });
}

void replay_store::record_verdict(const std::string& id, const core::replay_verdict& v,
                                  const nlohmann::json& summary, const std::string& mlflow_run_id) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto replay = tx.exec_params1("SELECT candidate_model, candidate_version, baseline_model, baseline_version,"
                                  " dataset FROM exp.replays WHERE id = $1::uuid",
                                  id);
    const auto dataset = replay[4].as<std::string>();
    tx.exec_params("DELETE FROM exp.offline_replay_results WHERE replay_id = $1::uuid", id);
    for (const char* role : {"candidate", "baseline"}) {
      const bool candidate = std::string(role) == "candidate";
      const auto model = replay[candidate ? 0 : 2].as<std::string>();
      const auto version = replay[candidate ? 1 : 3].as<int>();
      for (auto& m : v.metrics) {
        // The difference and the criterion are the candidate's; the baseline's rows
        // hold its value alone.
        std::optional<double> difference, low, high;
        std::optional<bool> passed;
        if (candidate) {
          difference = m.difference.estimate;
          low = m.difference.low;
          high = m.difference.high;
          if (m.tolerance)
            passed = m.passed;
        }
        tx.exec_params(
          "INSERT INTO exp.offline_replay_results (policy_version_id, dataset, metric_name, value, replay_id, role,"
          " mlflow_model_name, mlflow_model_version, rows, difference, difference_low, difference_high, passed)"
          " VALUES ((SELECT id FROM exp.policy_versions WHERE mlflow_model_name = $5"
          "          AND mlflow_model_version = $6::integer::text ORDER BY created_at LIMIT 1),"
          "         $1, $2, $3, $4::uuid, $7, $5, $6::integer, $8, $9, $10, $11, $12)",
          dataset, m.name, candidate ? m.candidate : m.baseline, id, model, version, role,
          static_cast<std::int64_t>(v.rows), difference, low, high, passed);
      }
    }
    tx.exec_params("UPDATE exp.replays SET verdict = $2, summary = $3::jsonb, error = NULL,"
                   " mlflow_run_id = nullif($4, '') WHERE id = $1::uuid",
                   id, v.accepted() ? "accepted" : "refused", summary.dump(), mlflow_run_id);
    tx.commit();
  });
}

void replay_store::finish(const std::string& id) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.replays SET status = 'succeeded', finished_at = now() WHERE id = $1::uuid", id);
    tx.commit();
  });
}

void replay_store::fail(const std::string& id, const std::string& error) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.replays SET status = 'failed', error = $2, verdict = NULL, summary = NULL,"
                   " finished_at = now() WHERE id = $1::uuid",
                   id, error);
    tx.exec_params("DELETE FROM exp.offline_replay_results WHERE replay_id = $1::uuid", id);
    tx.commit();
  });
}

std::optional<replay_row> replay_store::find(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<replay_row> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(std::string{"SELECT "} + columns + " FROM exp.replays WHERE id = $1::uuid", id);
    if (rows.empty())
      return std::nullopt;
    return row_of(rows[0]);
  });
}

std::vector<replay_row> replay_store::recent(std::size_t limit) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<replay_row> out;
    for (auto r : tx.exec_params(std::string{"SELECT "} + columns
                                   + " FROM exp.replays ORDER BY created_at DESC LIMIT $1",
                                 static_cast<std::int64_t>(limit)))
      out.push_back(row_of(r));
    return out;
  });
}

core::planner_catalogue replay_store::planner_catalogue() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return read_planner_catalogue(tx);
  });
}

} // namespace expd::runtime
