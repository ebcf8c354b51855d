#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/training_record.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// What a worker's progress report changes: the job's figures and one log row.
struct training_update {
  std::uint64_t step = 0;
  std::uint64_t total_steps = 0; ///< 0: leave as stored
  std::optional<double> loss, learning_rate, grad_norm, tokens_per_second;
  std::uint64_t tokens = 0;
  std::string checkpoint; ///< empty: leave as stored
  std::string message;
};

/// exp.training_jobs and exp.training_job_log (sql/010_training_jobs.sql). Every status
/// change goes through core::transition_allowed under the row's lock, so a cancelled or
/// finished job stays so whichever node writes. Blocking: the training registry's own.
class training_store {
public:
  explicit training_store(std::string pg_url);

  /// Stores a queued job (its spec as core::training_job_json wrote it).
  void create(const std::string& id, const std::string& name, const std::string& spec_json,
              std::uint32_t ranks, std::uint32_t max_failures, std::uint64_t total_steps);

  std::optional<core::training_record> get(const std::string& id);

  /// Newest first, at most `limit`.
  std::vector<core::training_record> list(std::size_t limit);

  /// The queued jobs, oldest first.
  std::vector<core::training_record> queued();

  /// Moves the job to `to` when core::transition_allowed says it may (running stamps
  /// started_at once and clears the reason; a final state stamps finished_at). Answers
  /// the status it had, or nullopt when there is no such job; the job is unchanged
  /// when the move was not allowed. `failures` and `error`, when given, are stored with it.
  std::optional<core::training_status> set_status(const std::string& id, core::training_status to,
                                                  std::optional<std::uint32_t> failures = {},
                                                  std::optional<std::string> error = {});

  /// queued -> running for the registry `runner`, under the row's lock; false when the
  /// job is no longer queued (another registry claimed it, or it was cancelled).
  bool claim(const std::string& id, const std::string& runner);

  /// The registry `runner` still runs its running jobs (now, on PostgreSQL's clock).
  void heartbeat(const std::string& runner);

  /// Running jobs whose registry has not said so for `quiet` or longer.
  std::vector<core::training_record> abandoned(std::chrono::milliseconds quiet);

  /// Why a queued job waits; written only when it changed.
  void set_reason(const std::string& id, const std::string& reason);

  /// Marks a cancel as asked for (a worker confirms it); false when there is no such job.
  bool request_cancel(const std::string& id);

  /// Updates a running job's figures and appends its log row, in one transaction.
  /// Answers the row's seq; nullopt when the job is not running (a late report).
  std::optional<std::uint64_t> record_progress(const std::string& id, const training_update& u);

  /// The MLflow run the job is tracked in; empty before it has one.
  std::string mlflow_run(const std::string& id);
  void set_mlflow_run(const std::string& id, const std::string& run_id);

  /// Appends a log row of text only (a start, a retry, a failure), at the job's step.
  void log_message(const std::string& id, const std::string& message);

  /// The job's log rows after `after`, oldest first, at most `limit`.
  std::vector<core::training_log_row> log_after(const std::string& id, std::uint64_t after,
                                                std::uint32_t limit);

private:
  pg_session session_;
};

} // namespace expd::runtime
