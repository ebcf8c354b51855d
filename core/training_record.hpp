#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/training_schedule.hpp"

namespace expd::core {

/// One training job as exp.training_jobs holds it (sql/010_training_jobs.sql).
struct training_record {
  std::string id;
  std::string name;
  nlohmann::json spec; ///< as training_job_json writes it
  training_status status = training_status::queued;
  std::string reason; ///< why a queued job waits; empty once it runs
  bool cancel_requested = false;
  std::uint32_t failures = 0;
  std::uint32_t max_failures = 0;
  std::uint32_t ranks = 1;
  std::string error; ///< the latest failure's
  std::uint64_t step = 0;
  std::uint64_t total_steps = 0; ///< 0: not known yet (epochs over a dataset not yet read)
  std::optional<double> loss;
  std::optional<double> learning_rate;
  std::optional<double> tokens_per_second;
  std::uint64_t tokens = 0;
  std::string checkpoint; ///< the latest, where a retry resumes; empty: none yet
  std::string created_at; ///< RFC 3339
  std::string started_at, finished_at; ///< empty: not yet
};

/// One row of exp.training_job_log.
struct training_log_row {
  std::uint64_t seq = 0;
  std::string at; ///< RFC 3339
  std::uint64_t step = 0;
  std::optional<double> loss, learning_rate, grad_norm, tokens_per_second;
  std::string message;
};

/// What GET /admin/v1/training-jobs/{id} answers: the row, eta_seconds from the pace
/// so far, and the spec.
nlohmann::json training_record_json(const training_record& r);

/// The same without the spec, for the list.
nlohmann::json training_summary_json(const training_record& r);

nlohmann::json training_log_json(const training_log_row& row);

/// ?after=SEQ&limit=N of the logs endpoint.
struct training_log_query {
  std::uint64_t after = 0;
  std::uint32_t limit = 1000;
};

constexpr std::uint32_t max_training_log_limit = 10000;

/// Throws field_error naming the parameter ("after", "limit") or an unknown one.
training_log_query parse_training_log_query(std::string_view query);

} // namespace expd::core
