#include "core/training_schedule.hpp"

#include <array>

namespace expd::core {

namespace {

constexpr std::array<std::string_view, 5> names{"queued", "running", "succeeded", "failed",
                                                "cancelled"};

} // namespace

std::string_view to_string(training_status s) {
  return names[static_cast<std::size_t>(s)];
}

std::optional<training_status> parse_training_status(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<training_status>(i);
  return std::nullopt;
}

bool is_final(training_status s) {
  return s == training_status::succeeded || s == training_status::failed
         || s == training_status::cancelled;
}

bool transition_allowed(training_status from, training_status to) {
  switch (from) {
    case training_status::queued:
      return to == training_status::running || to == training_status::cancelled;
    case training_status::running:
      return to != training_status::running;
    default:
      return false;
  }
}

dispatch_plan plan_dispatch(const std::vector<queued_training>& queued,
                            const std::vector<std::size_t>& idle, std::size_t registered) {
  dispatch_plan plan;
  std::size_t next = 0; // the first idle worker not handed out
  bool blocked = false; // an older job waits for workers: the younger ones wait behind it
  std::string blocker;
  for (auto& job : queued) {
    if (registered == 0) {
      plan.waiting.push_back({job.id, "no trainer worker is registered on this node"});
      continue;
    }
    if (job.ranks > registered) {
      plan.waiting.push_back(
        {job.id, "needs " + std::to_string(job.ranks) + " ranks; this node has "
                   + std::to_string(registered) + " trainer worker"
                   + (registered == 1 ? "" : "s") + " registered"});
      continue;
    }
    auto free = idle.size() - next;
    if (blocked) {
      plan.waiting.push_back({job.id, "waiting behind job " + blocker});
      continue;
    }
    if (job.ranks > free) {
      plan.waiting.push_back({job.id, "waiting for " + std::to_string(job.ranks)
                                        + " idle trainer workers (" + std::to_string(free)
                                        + " idle)"});
      blocked = true;
      blocker = job.id;
      continue;
    }
    training_start start{job.id, {}};
    for (std::uint32_t r = 0; r < job.ranks; ++r)
      start.workers.push_back(idle[next++]);
    plan.starts.push_back(std::move(start));
  }
  return plan;
}

job_next after_outcomes(const std::vector<rank_outcome>& outcomes, bool cancel_requested,
                        std::uint32_t failures, std::uint32_t max_failures) {
  if (cancel_requested)
    return {training_status::cancelled, failures, ""};
  const rank_outcome* failed = nullptr;
  bool retriable = true;
  bool cancelled = false;
  for (auto& o : outcomes) {
    if (o.result == rank_result::failed) {
      if (!failed)
        failed = &o;
      retriable = retriable && o.retriable;
    }
    cancelled = cancelled || o.result == rank_result::cancelled;
  }
  if (failed) {
    auto count = failures + 1;
    if (retriable && count <= max_failures)
      return {training_status::queued, count, failed->error};
    return {training_status::failed, count, failed->error};
  }
  if (cancelled)
    return {training_status::cancelled, failures, ""};
  return {training_status::succeeded, failures, ""};
}

std::optional<double> training_eta_seconds(std::uint64_t step, std::uint64_t total_steps,
                                           std::uint64_t tokens, double tokens_per_second) {
  if (step == 0 || total_steps == 0 || tokens == 0 || !(tokens_per_second > 0))
    return std::nullopt;
  if (step >= total_steps)
    return 0.0;
  auto per_step = static_cast<double>(tokens) / static_cast<double>(step);
  return static_cast<double>(total_steps - step) * per_step / tokens_per_second;
}

} // namespace expd::core
