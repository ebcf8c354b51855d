#pragma once

#include "core/rfc3339.hpp"

namespace expd::runtime {

/// The system clock now, in microseconds since the Unix epoch: the time events are
/// received at and time windows are measured from. Core takes it as an argument.
core::unix_micros now_micros() noexcept;

} // namespace expd::runtime
