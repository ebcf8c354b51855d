#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The training registry's decisions as plain logic (actors/training/training_registry
// only carries them out): a job's states and moves between them, which queued jobs
// start on which idle workers, and what a job becomes once its ranks reported.
namespace expd::core {

enum class training_status { queued, running, succeeded, failed, cancelled };

/// "queued", "running", ...: the names exp.training_jobs.status holds.
std::string_view to_string(training_status s);
std::optional<training_status> parse_training_status(std::string_view name);

/// Succeeded, failed and cancelled are final: a job stays so.
bool is_final(training_status s);

/// queued -> running | cancelled; running -> queued (a retry) | any final state. A job
/// is never moved to the state it has.
bool transition_allowed(training_status from, training_status to);

/// A queued job as the dispatcher sees it, oldest first.
struct queued_training {
  std::string id;
  std::uint32_t ranks = 1;
};

struct training_start {
  std::string id;
  std::vector<std::size_t> workers; ///< indices into the idle workers given; rank i is workers[i]
};

/// A job left queued, and why (what its status shows).
struct training_wait {
  std::string id;
  std::string reason;
};

struct dispatch_plan {
  std::vector<training_start> starts;
  std::vector<training_wait> waiting;
};

/// Hands idle workers (their indices, in order) to queued jobs oldest first, one job
/// per worker and `ranks` workers per job. A job that fits no longer once older jobs
/// took workers waits, and so do the younger ones (no starving a wide job); a job
/// needing more ranks than `registered` workers can never start here, so it waits
/// without holding up the others.
dispatch_plan plan_dispatch(const std::vector<queued_training>& queued,
                            const std::vector<std::size_t>& idle, std::size_t registered);

enum class rank_result : std::uint8_t { succeeded, failed, cancelled };

/// What one rank of a job reported (or what its death counts as).
struct rank_outcome {
  rank_result result = rank_result::succeeded;
  bool retriable = false;
  std::string error;
};

/// What a job becomes once every rank has reported.
struct job_next {
  training_status status = training_status::succeeded;
  std::uint32_t failures = 0; ///< counting this run's failure, if it failed
  std::string error;          ///< the first failing rank's error, or empty
};

/// A job whose cancel was asked for is cancelled whatever its ranks said. A failed
/// rank fails the run: when every failure is retriable and the job has failed at most
/// `max_failures` times counting this one, it is queued again (to resume from its
/// latest checkpoint, as Ray Train's max_failures), otherwise failed. Else a rank that
/// cancelled (its worker stopped) cancels it; else it succeeded.
job_next after_outcomes(const std::vector<rank_outcome>& outcomes, bool cancel_requested,
                        std::uint32_t failures, std::uint32_t max_failures);

/// Seconds left from the pace so far: steps left times tokens per step over tokens per
/// second; none while any of them is unknown (no step, no total, no speed).
std::optional<double> training_eta_seconds(std::uint64_t step, std::uint64_t total_steps,
                                           std::uint64_t tokens, double tokens_per_second);

} // namespace expd::core
