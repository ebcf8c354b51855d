#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/planner_plan.hpp"
#include "core/replay.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// A replay as exp.replays holds it.
struct replay_row {
  std::string id;
  core::replay_request request; ///< references resolved to versions
  std::string status;           ///< queued, running, succeeded, failed
  std::string verdict;          ///< accepted, refused; empty until it succeeded
  nlohmann::json summary;       ///< core::replay_verdict_json; null until it succeeded
  std::string error;
  std::string runner;
  int attempts = 0;
  std::string mlflow_run_id;
  std::string created_at, started_at, finished_at; ///< RFC 3339; empty when not yet
};

/// What offline replay reads and writes in PostgreSQL (docs/lifecycle.md, "Offline
/// replay"): exp.replays, exp.offline_replay_results and the planner domain's recipes
/// and exclusions. Blocking; the replay runner's.
class replay_store {
public:
  explicit replay_store(std::string pg_url);

  void create(const std::string& id, const core::replay_request& request);

  /// Claims the oldest queued replay for `runner`, or a running one whose runner has
  /// been silent for `stale_seconds` (its node died), and counts the attempt.
  std::optional<replay_row> claim(const std::string& runner, int stale_seconds);
  void heartbeat(const std::string& id, const std::string& runner);
  /// Puts the runner's running replays back in the queue (a restart resumes them).
  void requeue(const std::string& runner);

  /// The verdict, its summary, its MLflow run (may be empty) and every score row in one
  /// transaction.
  void succeed(const std::string& id, const core::replay_verdict& verdict, const nlohmann::json& summary,
               const std::string& mlflow_run_id);
  void fail(const std::string& id, const std::string& error);

  std::optional<replay_row> find(const std::string& id);
  /// The newest first, at most `limit`.
  std::vector<replay_row> recent(std::size_t limit);

  /// The planner's recipes and what each diet and allergy excludes.
  core::planner_catalogue planner_catalogue();

private:
  pg_session session_;
};

} // namespace expd::runtime
