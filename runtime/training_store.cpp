#include "runtime/training_store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace expd::runtime {

namespace {

// A macro, so the column lists below stay string literals joined at compile time.
#define EXPD_RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

constexpr const char* job_columns =
  "id::text, name, spec::text, status, reason, cancel_requested, failures, max_failures, ranks,"
  " last_error, step, total_steps, last_loss, learning_rate, tokens_per_second, tokens,"
  " checkpoint, " EXPD_RFC3339("created_at") ", coalesce(" EXPD_RFC3339("started_at") ", ''),"
  " coalesce(" EXPD_RFC3339("finished_at") ", '')";

std::optional<double> optional_double(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<double>{f.as<double>()};
}

core::training_record job_of(const pqxx::row& r) {
  core::training_record j;
  j.id = r[0].as<std::string>();
  j.name = r[1].as<std::string>();
  j.spec = nlohmann::json::parse(r[2].as<std::string>());
  j.status = core::parse_training_status(r[3].as<std::string>()).value_or(core::training_status::failed);
  j.reason = r[4].as<std::string>();
  j.cancel_requested = r[5].as<bool>();
  j.failures = r[6].as<std::uint32_t>();
  j.max_failures = r[7].as<std::uint32_t>();
  j.ranks = r[8].as<std::uint32_t>();
  j.error = r[9].as<std::string>();
  j.step = r[10].as<std::uint64_t>();
  j.total_steps = r[11].as<std::uint64_t>();
  j.loss = optional_double(r[12]);
  j.learning_rate = optional_double(r[13]);
  j.tokens_per_second = optional_double(r[14]);
  j.tokens = r[15].as<std::uint64_t>();
  j.checkpoint = r[16].as<std::string>();
  j.created_at = r[17].as<std::string>();
  j.started_at = r[18].as<std::string>();
  j.finished_at = r[19].as<std::string>();
  return j;
}

std::vector<core::training_record> jobs_of(const pqxx::result& rows) {
  std::vector<core::training_record> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(job_of(r));
  return out;
}

// PostgreSQL's bigint is signed; steps, tokens and seqs stay far below 2^63.
std::int64_t signed_of(std::uint64_t x) {
  return static_cast<std::int64_t>(x);
}

// Appends a log row numbered after the job's last.
pqxx::result append_log(pqxx::work& tx, const std::string& id, std::uint64_t step,
                        const training_update& u) {
  return tx.exec_params(
    "INSERT INTO exp.training_job_log (job_id, seq, step, loss, learning_rate, grad_norm,"
    "  tokens_per_second, message)"
    " SELECT $1::uuid, coalesce(max(seq), 0) + 1, $2::bigint, $3::float8, $4::float8, $5::float8,"
    "  $6::float8, $7"
    " FROM exp.training_job_log WHERE job_id = $1::uuid RETURNING seq",
    id, signed_of(step), u.loss, u.learning_rate, u.grad_norm, u.tokens_per_second, u.message);
}

} // namespace

training_store::training_store(std::string pg_url) : session_(std::move(pg_url)) {
}

void training_store::create(const std::string& id, const std::string& name,
                            const std::string& spec_json, std::uint32_t ranks,
                            std::uint32_t max_failures, std::uint64_t total_steps) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("INSERT INTO exp.training_jobs (id, name, spec, ranks, max_failures,"
                   "  total_steps) VALUES ($1::uuid, $2, $3::jsonb, $4, $5, $6)",
                   id, name, spec_json, ranks, max_failures, signed_of(total_steps));
    tx.commit();
  });
}

std::optional<core::training_record> training_store::get(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<core::training_record> {
    pqxx::read_transaction tx{conn};
    auto r = tx.exec_params(std::string{"SELECT "} + job_columns
                              + " FROM exp.training_jobs WHERE id = $1::uuid",
                            id);
    if (r.empty())
      return std::nullopt;
    return job_of(r[0]);
  });
}

std::vector<core::training_record> training_store::list(std::size_t limit) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return jobs_of(tx.exec_params(std::string{"SELECT "} + job_columns
                                    + " FROM exp.training_jobs ORDER BY created_at DESC, id LIMIT $1",
                                  static_cast<std::int64_t>(limit)));
  });
}

std::vector<core::training_record> training_store::queued() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return jobs_of(tx.exec(std::string{"SELECT "} + job_columns
                           + " FROM exp.training_jobs WHERE status = 'queued'"
                             " ORDER BY created_at, id"));
  });
}

std::optional<core::training_status>
training_store::set_status(const std::string& id, core::training_status to,
                           std::optional<std::uint32_t> failures, std::optional<std::string> error) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<core::training_status> {
    pqxx::work tx{conn};
    auto r = tx.exec_params("SELECT status FROM exp.training_jobs WHERE id = $1::uuid FOR UPDATE", id);
    if (r.empty())
      return std::nullopt;
    auto from = core::parse_training_status(r[0][0].as<std::string>()).value_or(to);
    if (!core::transition_allowed(from, to))
      return from;
    auto name = std::string{core::to_string(to)};
    tx.exec_params(
      "UPDATE exp.training_jobs SET status = $2,"
      " started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,"
      " finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() END,"
      " reason = CASE WHEN $2 = 'running' THEN '' ELSE reason END,"
      " failures = coalesce($3::integer, failures), last_error = coalesce($4, last_error)"
      " WHERE id = $1::uuid",
      id, name, failures, error);
    tx.commit();
    return from;
  });
}

bool training_store::claim(const std::string& id, const std::string& runner) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto r = tx.exec_params("UPDATE exp.training_jobs SET status = 'running', runner = $2::uuid,"
                            " heartbeat_at = now(), started_at = coalesce(started_at, now()),"
                            " reason = '' WHERE id = $1::uuid AND status = 'queued'",
                            id, runner);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

void training_store::heartbeat(const std::string& runner) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.training_jobs SET heartbeat_at = now()"
                   " WHERE runner = $1::uuid AND status = 'running'",
                   runner);
    tx.commit();
  });
}

std::vector<core::training_record> training_store::abandoned(std::chrono::milliseconds quiet) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return jobs_of(tx.exec_params(std::string{"SELECT "} + job_columns
                                    + " FROM exp.training_jobs WHERE status = 'running'"
                                      " AND heartbeat_at < now() - $1::interval ORDER BY created_at",
                                  std::to_string(quiet.count()) + " milliseconds"));
  });
}

void training_store::set_reason(const std::string& id, const std::string& reason) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.training_jobs SET reason = $2"
                   " WHERE id = $1::uuid AND status = 'queued' AND reason <> $2",
                   id, reason);
    tx.commit();
  });
}

std::string training_store::mlflow_run(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto r = tx.exec_params("SELECT mlflow_run_id FROM exp.training_jobs WHERE id = $1::uuid", id);
    return r.empty() ? std::string{} : r[0][0].as<std::string>();
  });
}

void training_store::set_mlflow_run(const std::string& id, const std::string& run_id) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.training_jobs SET mlflow_run_id = $2 WHERE id = $1::uuid", id, run_id);
    tx.commit();
  });
}

bool training_store::request_cancel(const std::string& id) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto r = tx.exec_params("UPDATE exp.training_jobs SET cancel_requested = true"
                            " WHERE id = $1::uuid",
                            id);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

std::optional<std::uint64_t> training_store::record_progress(const std::string& id,
                                                             const training_update& u) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<std::uint64_t> {
    pqxx::work tx{conn};
    auto r = tx.exec_params(
      "UPDATE exp.training_jobs SET step = $2::bigint,"
      " total_steps = CASE WHEN $3::bigint > 0 THEN $3::bigint ELSE total_steps END,"
      " last_loss = coalesce($4::float8, last_loss),"
      " learning_rate = coalesce($5::float8, learning_rate),"
      " tokens_per_second = coalesce($6::float8, tokens_per_second), tokens = $7::bigint,"
      " checkpoint = CASE WHEN $8 <> '' THEN $8 ELSE checkpoint END"
      " WHERE id = $1::uuid AND status = 'running'",
      id, signed_of(u.step), signed_of(u.total_steps), u.loss, u.learning_rate,
      u.tokens_per_second, signed_of(u.tokens), u.checkpoint);
    if (r.affected_rows() == 0)
      return std::nullopt;
    auto seq = append_log(tx, id, u.step, u)[0][0].as<std::uint64_t>();
    tx.commit();
    return seq;
  });
}

void training_store::log_message(const std::string& id, const std::string& message) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto r = tx.exec_params("SELECT step FROM exp.training_jobs WHERE id = $1::uuid FOR UPDATE", id);
    if (r.empty())
      return;
    training_update u;
    u.message = message;
    append_log(tx, id, r[0][0].as<std::uint64_t>(), u);
    tx.commit();
  });
}

std::vector<core::training_log_row> training_store::log_after(const std::string& id,
                                                              std::uint64_t after,
                                                              std::uint32_t limit) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(
      "SELECT seq, " EXPD_RFC3339("at") ", step, loss, learning_rate, grad_norm,"
      " tokens_per_second, message FROM exp.training_job_log"
      " WHERE job_id = $1::uuid AND seq > $2 ORDER BY seq LIMIT $3",
      id, signed_of(after), static_cast<std::int64_t>(limit));
    std::vector<core::training_log_row> out;
    for (const auto& r : rows)
      out.push_back({r[0].as<std::uint64_t>(), r[1].as<std::string>(), r[2].as<std::uint64_t>(),
                     optional_double(r[3]), optional_double(r[4]), optional_double(r[5]),
                     optional_double(r[6]), r[7].as<std::string>()});
    return out;
  });
}

} // namespace expd::runtime
