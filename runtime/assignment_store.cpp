#include "runtime/assignment_store.hpp"

#include <tuple>

#include <pqxx/pqxx>

namespace expd::runtime {

assignment_store::assignment_store(std::string pg_url) : session_(std::move(pg_url)) {
}

void assignment_store::write(const assignment_batch& rows) {
  if (rows.empty())
    return;
  auto& conn = session_.get();
  if (!staging_ready_) {
    pqxx::nontransaction tx{conn};
    tx.exec("CREATE TEMP TABLE IF NOT EXISTS assignments_in (seq bigint, experiment_id uuid,"
            " unit_id text, unit_type text, variant_id uuid, salt text) ON COMMIT DELETE ROWS");
    staging_ready_ = true;
  }
  pqxx::work tx{conn};
  {
    pqxx::stream_to copy{tx, "assignments_in",
                         std::vector<std::string>{"seq", "experiment_id", "unit_id",
                                                  "unit_type", "variant_id", "salt"}};
    long long seq = 0;
    for (auto& r : rows)
      copy << std::make_tuple(seq++, r.experiment_id.str(), r.unit_id, r.unit_type,
                              r.variant_id.str(), *r.salt);
    copy.complete();
  }
  // The newest row of a unit wins inside one batch (a salt change can queue two).
  tx.exec("INSERT INTO exp.assignments (experiment_id, unit_id, unit_type, variant_id, salt)"
          " SELECT DISTINCT ON (experiment_id, unit_id)"
          "  experiment_id, unit_id, unit_type, variant_id, salt FROM assignments_in"
          "  ORDER BY experiment_id, unit_id, seq DESC"
          " ON CONFLICT (experiment_id, unit_id) DO UPDATE SET variant_id = EXCLUDED.variant_id,"
          "  unit_type = EXCLUDED.unit_type, salt = EXCLUDED.salt, assigned_at = now()"
          " WHERE exp.assignments.salt <> EXCLUDED.salt");
  tx.commit();
}

void assignment_store::for_each_served(std::size_t batch_size,
                                       const std::function<void(assignment_batch&&)>& fn) {
  auto& conn = session_.get();
  pqxx::work tx{conn};
  tx.exec("DECLARE served_assignments NO SCROLL CURSOR FOR"
          " SELECT a.experiment_id, a.variant_id, a.unit_type, a.unit_id, a.salt"
          " FROM exp.assignments a JOIN exp.experiments e ON e.id = a.experiment_id"
          " WHERE e.status IN ('running', 'paused') AND a.salt = e.salt");
  auto fetch = "FETCH " + std::to_string(batch_size) + " FROM served_assignments";
  for (;;) {
    auto rows = tx.exec(fetch);
    if (rows.empty())
      break;
    assignment_batch batch;
    batch.reserve(rows.size());
    for (auto row : rows)
      batch.push_back({*core::uuid::parse(row[0].c_str()), *core::uuid::parse(row[1].c_str()),
                       row[2].as<std::string>(), row[3].as<std::string>(),
                       std::make_shared<const std::string>(row[4].as<std::string>())});
    fn(std::move(batch));
  }
  tx.exec("CLOSE served_assignments");
  tx.commit();
}

} // namespace expd::runtime
