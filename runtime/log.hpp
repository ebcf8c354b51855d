#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace expd::runtime {

enum class log_level { debug, info, warn, error };

/// Parses "debug", "info", "warn" or "error"; anything else is info.
log_level parse_log_level(std::string_view text) noexcept;

void set_log_level(log_level level) noexcept;

/// Writes one JSON line to stderr: {"ts","level","event", ...fields}. Thread-safe.
void log(log_level level, std::string_view event, const nlohmann::json& fields = {});

} // namespace expd::runtime
