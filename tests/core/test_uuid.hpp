#pragma once

#include <cstdio>

#include "core/uuid.hpp"

namespace expd::test {

/// A valid, readable uuid for test fixtures: 00000000-0000-4000-8000-00000000000n.
inline core::uuid id_of(int n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", n);
  return *core::uuid::parse(text);
}

} // namespace expd::test
