#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/pipeline_document.hpp"

// The runs of pipelines (docs/lifecycle.md, "Pipelines"): when one is due, which step
// comes next, and what a run found unfinished at start becomes. No I/O, no clock.
namespace expd::core {

enum class run_status { queued, running, succeeded, failed };
enum class step_status { pending, running, succeeded, failed };
enum class run_trigger { schedule, manual, catch_up };

std::string_view to_string(run_status s) noexcept;
std::string_view to_string(step_status s) noexcept;
std::string_view to_string(run_trigger t) noexcept;
/// Throw std::invalid_argument for a name that is none of theirs.
run_status parse_run_status(std::string_view s);
step_status parse_step_status(std::string_view s);
run_trigger parse_run_trigger(std::string_view s);

struct run_step {
  std::string name;
  pipeline_step_kind kind = pipeline_step_kind::dataset;
  step_status status = step_status::pending;
  /// What it produced, for the steps after it: a dataset step's dataset_step_outputs; a
  /// train step's job_id as soon as the job is submitted, then its final status.
  nlohmann::json outputs = nlohmann::json::object();
  std::string error;
  unix_micros started_at = 0, finished_at = 0; ///< 0: not yet
};

/// One run as exp.pipeline_runs holds it. `spec` is the pipeline as it was when the run
/// was queued (its inputs): a later apply does not change a run under way.
struct pipeline_run {
  std::string id;
  pipeline_spec spec;
  unix_micros scheduled_for = 0;
  run_trigger trigger = run_trigger::schedule;
  run_status status = run_status::queued;
  std::vector<run_step> steps;
  std::string error;
  std::string node; ///< the node that runs it
  unix_micros started_at = 0, finished_at = 0;
};

/// A queued run of `spec`, every step pending.
pipeline_run new_run(const pipeline_spec& spec, std::string id, unix_micros scheduled_for, run_trigger trigger,
                     std::string node);

/// A run that is due now: the schedule's last slot at or before `now`, unless that
/// slot is before `schedule_since` or not after `last_scheduled` (the newest slot a
/// run was made for). A slot before `scheduler_started` was missed while the node was
/// down: it is a catch-up, and only the latest missed slot runs, once.
struct due_run {
  unix_micros scheduled_for = 0;
  run_trigger trigger = run_trigger::schedule;
};
std::optional<due_run> find_due_run(const cron_schedule& schedule, unix_micros schedule_since,
                                    std::optional<unix_micros> last_scheduled, unix_micros now,
                                    unix_micros scheduler_started);

enum class run_move_kind {
  start_step, ///< start steps[step] (again: a dataset build is idempotent per day)
  follow_job, ///< steps[step]'s training job was submitted: follow it by its id
  succeed,    ///< every step succeeded
  fail,       ///< a step failed: the run fails with its reason
};

struct run_move {
  run_move_kind kind = run_move_kind::start_step;
  std::size_t step = 0;
  std::string job_id; ///< follow_job
  std::string reason; ///< fail
};

/// What a queued or running run does next, at any time and at a node's start alike: the
/// first step not yet succeeded decides. A train step that was started but has no job
/// id starts again; the scheduler looks for the job by its name before submitting, so a
/// job whose submission was answered but not recorded is followed, not sent twice.
/// A run whose steps do not match its spec fails.
run_move next_move(const pipeline_run& run);

/// What steps[step] reads from the steps before it: the outputs of its from_step.
const nlohmann::json& step_inputs(const pipeline_run& run, std::size_t step);

/// The run as the API shows it and exp.pipeline_runs stores its parts: id, pipeline,
/// scheduled_for, trigger, status, node, times (RFC 3339, null when not yet), inputs
/// (the spec and the scheduled time), outputs (each step's, by name), steps, error.
nlohmann::json pipeline_run_json(const pipeline_run& run);

/// The steps as pipeline_run_json writes them, and back.
nlohmann::json run_steps_json(const std::vector<run_step>& steps);
std::vector<run_step> parse_run_steps(const nlohmann::json& steps);

/// Each step's outputs by the step's name (exp.pipeline_runs.outputs).
nlohmann::json run_outputs_json(const pipeline_run& run);

} // namespace expd::core
