#include "runtime/promotion_store.hpp"

#include <pqxx/pqxx>

#include "runtime/pg_rfc3339.hpp"

namespace expd::runtime {

namespace {

constexpr const char* columns =
  "id::text, experiment_id::text, experiment_name, variant_name, baseline_variant, mlflow_model_name,"
  " mlflow_model_version, policy_version_id::text, request::text, status, step_index, allocation,"
  " (extract(epoch FROM step_started_at) * 1000000)::bigint, last_decision, last_reading::text, "
  EXPD_PG_RFC3339("checked_at") ", " EXPD_PG_RFC3339("created_at") ", " EXPD_PG_RFC3339("finished_at");

promotion_row row_of(const pqxx::row& r) {
  promotion_row p;
  p.id = r[0].as<std::string>();
  p.experiment_id = r[1].as<std::string>();
  p.experiment_name = r[2].as<std::string>();
  p.variant = r[3].as<std::string>();
  p.baseline = r[4].as<std::string>();
  p.model_name = r[5].as<std::string>();
  p.model_version = r[6].as<int>();
  p.policy_version_id = r[7].as<std::string>();
  p.request = core::parse_promotion_request(nlohmann::json::parse(r[8].as<std::string>()));
  p.status = r[9].as<std::string>();
  p.step_index = r[10].as<std::size_t>();
  p.allocation = r[11].as<double>();
  p.step_started_at = r[12].as<std::int64_t>();
  p.last_decision = r[13].as<std::string>();
  p.last_reading = nlohmann::json::parse(r[14].as<std::string>());
  p.checked_at = r[15].as<std::string>();
  p.created_at = r[16].as<std::string>();
  p.finished_at = r[17].as<std::string>();
  return p;
}

std::vector<promotion_row> rows_of(const pqxx::result& rows) {
  std::vector<promotion_row> out;
  for (const auto& r : rows)
    out.push_back(row_of(r));
  return out;
}

void insert_event(pqxx::work& tx, const std::string& id, const std::string& kind, double allocation,
                  const std::string& reason, const nlohmann::json& reading) {
  tx.exec_params("INSERT INTO exp.promotion_events (promotion_id, seq, kind, allocation, reason, reading)"
                 " SELECT $1::uuid, coalesce(max(seq), 0) + 1, $2, $3, $4, $5::jsonb"
                 " FROM exp.promotion_events WHERE promotion_id = $1::uuid",
                 id, kind, allocation, reason, reading.dump());
}

} // namespace

promotion_store::promotion_store(std::string pg_url) : session_(std::move(pg_url)) {
}

bool promotion_store::create(const promotion_row& p, const std::string& reason) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    try {
      tx.exec_params("INSERT INTO exp.promotions (id, experiment_id, experiment_name, variant_name,"
                     " baseline_variant, mlflow_model_name, mlflow_model_version, policy_version_id, request,"
                     " status, step_index, allocation, step_started_at)"
                     " VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8::uuid, $9::jsonb, 'active', 0, $10,"
                     " to_timestamp($11::double precision / 1000000))",
                     p.id, p.experiment_id, p.experiment_name, p.variant, p.baseline, p.model_name, p.model_version,
                     p.policy_version_id, core::promotion_request_json(p.request).dump(), p.allocation,
                     static_cast<double>(p.step_started_at));
    } catch (const pqxx::unique_violation&) {
      return false;
    }
    insert_event(tx, p.id, "started", p.allocation, reason, nlohmann::json::object());
    tx.commit();
    return true;
  });
}

std::vector<promotion_row> promotion_store::active() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return rows_of(tx.exec(std::string{"SELECT "} + columns
                           + " FROM exp.promotions WHERE status = 'active' ORDER BY created_at"));
  });
}

std::vector<promotion_row> promotion_store::recent(std::size_t limit) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return rows_of(tx.exec_params(std::string{"SELECT "} + columns
                                    + " FROM exp.promotions ORDER BY created_at DESC LIMIT $1",
                                  static_cast<std::int64_t>(limit)));
  });
}

std::optional<promotion_row> promotion_store::find(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<promotion_row> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(std::string{"SELECT "} + columns + " FROM exp.promotions WHERE id = $1::uuid", id);
    if (rows.empty())
      return std::nullopt;
    return row_of(rows[0]);
  });
}

std::vector<promotion_row> promotion_store::of_experiment(const std::string& experiment_id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return rows_of(tx.exec_params(std::string{"SELECT "} + columns
                                    + " FROM exp.promotions WHERE experiment_id = $1::uuid ORDER BY created_at DESC",
                                  experiment_id));
  });
}

std::vector<promotion_event> promotion_store::events(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<promotion_event> out;
    for (auto r : tx.exec_params("SELECT seq, " EXPD_PG_RFC3339("at") ", kind, allocation, reason, reading::text"
                                 " FROM exp.promotion_events WHERE promotion_id = $1::uuid ORDER BY seq",
                                 id))
      out.push_back({r[0].as<int>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<double>(),
                     r[4].as<std::string>(), nlohmann::json::parse(r[5].as<std::string>())});
    return out;
  });
}

void promotion_store::record_step(const promotion_row& p, const std::string& kind, const std::string& reason,
                                  const nlohmann::json& reading) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.promotions SET status = $2, step_index = $3, allocation = $4, step_started_at = now(),"
                   " last_decision = $5, last_reading = $6::jsonb, checked_at = now(),"
                   " finished_at = CASE WHEN $2 = 'active' THEN NULL ELSE now() END WHERE id = $1::uuid",
                   p.id, p.status, static_cast<std::int64_t>(p.step_index), p.allocation, reason, reading.dump());
    insert_event(tx, p.id, kind, p.allocation, reason, reading);
    tx.commit();
  });
}

std::map<std::string, std::uint64_t> promotion_store::assigned_since(const std::string& experiment_id,
                                                                    core::unix_micros since) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::map<std::string, std::uint64_t> out;
    for (auto r : tx.exec_params("SELECT v.name, count(*) FROM exp.assignments a JOIN exp.variants v ON v.id = a.variant_id"
                                 " WHERE a.experiment_id = $1::uuid"
                                 " AND a.assigned_at >= to_timestamp($2::double precision / 1000000) GROUP BY v.name",
                                 experiment_id, static_cast<double>(since)))
      out[r[0].as<std::string>()] = r[1].as<std::uint64_t>();
    return out;
  });
}

// Any constant would do; this one reads "promotio" in ASCII.
constexpr std::int64_t pass_lock = 0x70726f6d6f74696f;

bool promotion_store::try_lock_pass() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    return tx.exec_params1("SELECT pg_try_advisory_lock($1)", pass_lock)[0].as<bool>();
  });
}

void promotion_store::unlock_pass() {
  try {
    pqxx::nontransaction tx{session_.get()};
    tx.exec_params("SELECT pg_advisory_unlock($1)", pass_lock);
  } catch (const std::exception&) {
    // A broken connection released the lock with it.
    session_.reset();
  }
}

void promotion_store::record_check(const std::string& id, const std::string& decision, const nlohmann::json& reading) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.promotions SET last_decision = $2, last_reading = $3::jsonb, checked_at = now()"
                   " WHERE id = $1::uuid",
                   id, decision, reading.dump());
    tx.commit();
  });
}

} // namespace expd::runtime
