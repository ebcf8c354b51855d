#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/pipeline_run.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// exp.pipelines and exp.pipeline_runs (sql/016_pipelines.sql). Blocking; the pipeline
/// scheduler's.
class pipeline_store {
public:
  explicit pipeline_store(std::string pg_url);

  std::vector<core::stored_pipeline> load();

  /// Writes the plan's created and updated pipelines in one transaction; a pipeline
  /// whose schedule or enabled changed (or a new one) gets schedule_since = `now`.
  void apply(const std::vector<core::planned_pipeline>& plan, core::unix_micros now);

  /// Stores a new run; false when a run of its slot exists already (another node's,
  /// or this node's before a restart): the unique key decides who runs a slot.
  bool create_run(const core::pipeline_run& run);

  /// Stores the run's status, times, steps, outputs and error.
  void save_run(const core::pipeline_run& run);

  std::optional<core::pipeline_run> find_run(const std::string& id);

  /// The newest runs first, at most `limit`, of one pipeline (or of all for "").
  std::vector<core::pipeline_run> runs(const std::string& pipeline, std::size_t limit);

  /// The runs of `node` still queued or running, the oldest first; one whose stored
  /// inputs cannot be read is marked failed with the reason instead.
  std::vector<core::pipeline_run> unfinished(const std::string& node);

  /// The newest slot a scheduled or catch-up run was made for.
  std::optional<core::unix_micros> last_scheduled(const std::string& pipeline);

private:
  pg_session session_;
};

} // namespace expd::runtime
