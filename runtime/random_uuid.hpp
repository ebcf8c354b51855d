#pragma once

#include "core/uuid.hpp"

namespace expd::runtime {

/// A version 4 (random) UUID from a per-thread generator seeded by the OS.
core::uuid random_uuid();

} // namespace expd::runtime
