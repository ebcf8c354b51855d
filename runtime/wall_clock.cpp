#include "runtime/wall_clock.hpp"

#include <chrono>

namespace expd::runtime {

core::unix_micros now_micros() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace expd::runtime
