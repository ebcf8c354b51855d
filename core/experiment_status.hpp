#pragma once

#include <optional>
#include <string_view>

namespace expd::core {

/// Life of an experiment. draft: not served. running: serves and enrols new units.
/// paused: serves units already assigned, enrols nobody new. stopped: not served,
/// final.
enum class experiment_status { draft, running, paused, stopped };

std::optional<experiment_status> parse_status(std::string_view text) noexcept;

std::string_view to_string(experiment_status status) noexcept;

/// Allowed moves: draft -> running, running <-> paused, any but stopped -> stopped,
/// and staying put.
bool can_transition(experiment_status from, experiment_status to) noexcept;

} // namespace expd::core
