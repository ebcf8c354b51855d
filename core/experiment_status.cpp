#include "core/experiment_status.hpp"

namespace expd::core {

std::optional<experiment_status> parse_status(std::string_view text) noexcept {
  if (text == "draft")
    return experiment_status::draft;
  if (text == "running")
    return experiment_status::running;
  if (text == "paused")
    return experiment_status::paused;
  if (text == "stopped")
    return experiment_status::stopped;
  return std::nullopt;
}

std::string_view to_string(experiment_status status) noexcept {
  switch (status) {
    case experiment_status::draft:
      return "draft";
    case experiment_status::running:
      return "running";
    case experiment_status::paused:
      return "paused";
    case experiment_status::stopped:
      return "stopped";
  }
  return "draft";
}

bool can_transition(experiment_status from, experiment_status to) noexcept {
  using s = experiment_status;
  if (from == to)
    return true;
  switch (from) {
    case s::draft:
      return to == s::running || to == s::stopped;
    case s::running:
      return to == s::paused || to == s::stopped;
    case s::paused:
      return to == s::running || to == s::stopped;
    case s::stopped:
      return false;
  }
  return false;
}

} // namespace expd::core
