#pragma once

#include <cstdio>
#include <cstdlib>

// A broken invariant is a crash to libFuzzer (it saves the input); the line says which.
#define FUZZ_CHECK(condition)                                                         \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
                   #condition);                                                       \
      std::abort();                                                                   \
    }                                                                                 \
  } while (false)
