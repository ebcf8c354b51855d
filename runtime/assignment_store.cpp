#include "runtime/assignment_store.hpp"

#include <tuple>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/percent_encoding.hpp"
#include "core/shard_ring.hpp"
#include "runtime/log.hpp"

namespace expd::runtime {

assignment_store::assignment_store(std::string pg_url) : session_(std::move(pg_url)) {
}

namespace {

// A refusal of the data itself: retrying the same rows can only fail again.
bool refused_by_data(const pqxx::sql_error& e) {
  auto& state = e.sqlstate();
  return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
}

} // namespace

void assignment_store::store(const core::assignment_record* rows, std::size_t n) {
  auto& conn = session_.get();
  if (!staging_ready_) {
    pqxx::nontransaction tx{conn};
    tx.exec("CREATE TEMP TABLE IF NOT EXISTS assignments_in (seq bigint, experiment_id uuid,"
            " unit_id text, unit_type text, variant_id uuid, salt text, slot smallint)"
            " ON COMMIT DELETE ROWS");
    staging_ready_ = true;
  }
  pqxx::work tx{conn};
  {
    pqxx::stream_to copy{tx, "assignments_in",
                         std::vector<std::string>{"seq", "experiment_id", "unit_id",
                                                  "unit_type", "variant_id", "salt", "slot"}};
    for (std::size_t i = 0; i < n; ++i) {
      auto& r = rows[i];
      copy << std::make_tuple(static_cast<long long>(i), r.experiment_id.str(), r.unit_id,
                              r.unit_type, r.variant_id.str(), *r.salt,
                              static_cast<int>(core::slot_of(r.unit_id)));
    }
    copy.complete();
  }
  // The newest row of a unit wins inside one batch (a salt change can queue two).
  tx.exec("INSERT INTO exp.assignments (experiment_id, unit_id, unit_type, variant_id, salt, slot)"
          " SELECT DISTINCT ON (experiment_id, unit_id)"
          "  experiment_id, unit_id, unit_type, variant_id, salt, slot FROM assignments_in"
          "  ORDER BY experiment_id, unit_id, seq DESC"
          " ON CONFLICT (experiment_id, unit_id) DO UPDATE SET variant_id = EXCLUDED.variant_id,"
          "  unit_type = EXCLUDED.unit_type, salt = EXCLUDED.salt, slot = EXCLUDED.slot,"
          "  assigned_at = now()"
          " WHERE exp.assignments.salt <> EXCLUDED.salt");
  tx.commit();
}

void assignment_store::dead_letter(const core::assignment_record& row, const std::string& error) {
  // The message may quote the refused bytes; JSON escaping with replacement makes it
  // valid UTF-8 without NUL, which a text column takes.
  auto message = nlohmann::json(error).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  pqxx::work tx{session_.get()};
  tx.exec_params("INSERT INTO exp.assignment_dead_letters"
                 " (experiment_id, variant_id, unit_type, unit_id, salt, error)"
                 " VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), decode($5, 'hex'), $6)",
                 row.experiment_id.str(), row.variant_id.str(), core::hex_encode(row.unit_type),
                 core::hex_encode(row.unit_id), core::hex_encode(*row.salt),
                 message.substr(1, message.size() - 2));
  tx.commit();
}

// Settles rows[from, from + n): stored whole, or split until each refused row is alone
// and dead-lettered. False when PostgreSQL failed otherwise; out.failure says how.
bool assignment_store::settle(const assignment_batch& rows, std::size_t from, std::size_t n,
                              assignment_write& out) {
  try {
    try {
      store(rows.data() + from, n);
    } catch (const pqxx::sql_error& e) {
      if (!refused_by_data(e))
        throw;
      if (n > 1) {
        auto half = n / 2;
        return settle(rows, from, half, out) && settle(rows, from + half, n - half, out);
      }
      dead_letter(rows[from], e.what());
      out.refused.push_back({from, e.what()});
      log(log_level::error, "assignment_dead_lettered",
          {{"experiment_id", rows[from].experiment_id.str()},
           {"unit_type", rows[from].unit_type},
           {"unit_id", rows[from].unit_id},
           {"error", e.what()}});
    }
  } catch (const std::exception& e) {
    reset();
    out.failure = e.what();
    return false;
  }
  out.settled = from + n;
  return true;
}

assignment_write assignment_store::write(const assignment_batch& rows) {
  assignment_write out;
  if (!rows.empty())
    settle(rows, 0, rows.size(), out);
  return out;
}

void assignment_store::for_each_served(std::size_t batch_size,
                                       const std::function<void(assignment_batch&&)>& fn,
                                       const std::vector<std::uint32_t>* slots) {
  std::vector<bool> wanted;
  std::string filter;
  if (slots != nullptr) {
    wanted.assign(core::ring_slots, false);
    filter = " AND (a.slot IS NULL OR a.slot = ANY('{";
    for (std::size_t i = 0; i < slots->size(); ++i) {
      wanted[(*slots)[i]] = true;
      filter += (i ? "," : "") + std::to_string((*slots)[i]);
    }
    filter += "}'::smallint[]))";
  }
  auto& conn = session_.get();
  pqxx::work tx{conn};
  tx.exec("DECLARE served_assignments NO SCROLL CURSOR FOR"
          " SELECT a.experiment_id, a.variant_id, a.unit_type, a.unit_id, a.salt"
          " FROM exp.assignments a JOIN exp.experiments e ON e.id = a.experiment_id"
          " WHERE e.status IN ('running', 'paused') AND a.salt = e.salt"
          + filter);
  auto fetch = "FETCH " + std::to_string(batch_size) + " FROM served_assignments";
  for (;;) {
    auto rows = tx.exec(fetch);
    if (rows.empty())
      break;
    assignment_batch batch;
    batch.reserve(rows.size());
    for (auto row : rows) {
      // Rows from before exp.assignments.slot (NULL) are matched here.
      auto unit_id = row[3].as<std::string>();
      if (slots != nullptr && !wanted[core::slot_of(unit_id)])
        continue;
      batch.push_back({*core::uuid::parse(row[0].c_str()), *core::uuid::parse(row[1].c_str()),
                       row[2].as<std::string>(), std::move(unit_id),
                       std::make_shared<const std::string>(row[4].as<std::string>())});
    }
    if (!batch.empty())
      fn(std::move(batch));
  }
  tx.exec("CLOSE served_assignments");
  tx.commit();
}

std::vector<std::vector<std::pair<core::uuid, core::uuid>>>
assignment_store::held(const std::vector<std::pair<std::string, std::string>>& units,
                       const std::vector<core::uuid>& experiments) {
  std::vector<std::vector<std::pair<core::uuid, core::uuid>>> out(units.size());
  if (units.empty() || experiments.empty())
    return out;
  // As JSON, so unit ids need no escaping of PostgreSQL's array syntax; the experiment
  // list lets the primary key (experiment_id, unit_id) find each row.
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < units.size(); ++i)
    list.push_back({{"i", i}, {"t", units[i].first}, {"u", units[i].second}});
  nlohmann::json ids = nlohmann::json::array();
  for (auto& id : experiments)
    ids.push_back(id.str());
  pqxx::result rows;
  try {
    pqxx::read_transaction tx{session_.get()};
    rows = tx.exec_params(
    "SELECT u.i, a.experiment_id, a.variant_id"
    " FROM json_to_recordset($1::json) AS u(i int, t text, u text)"
    " JOIN exp.assignments a ON a.unit_id = u.u AND a.unit_type = u.t"
    " JOIN exp.experiments e ON e.id = a.experiment_id"
    " WHERE a.experiment_id IN (SELECT value::uuid FROM json_array_elements_text($2::json))"
    " AND a.salt = e.salt AND e.status IN ('running', 'paused')"
    " ORDER BY u.i, a.experiment_id",
    list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
    ids.dump());
  } catch (const std::exception&) {
    session_.reset();
    throw;
  }
  for (auto row : rows)
    out[row[0].as<std::size_t>()].emplace_back(*core::uuid::parse(row[1].c_str()),
                                                *core::uuid::parse(row[2].c_str()));
  return out;
}

} // namespace expd::runtime
