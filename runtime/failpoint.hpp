#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace expd::runtime {

/// Named places where a test makes expd die as a crash would: SIGKILL, no cleanup, no
/// drain (docs/operations.md, "Failpoints"). They are always compiled in; unarmed, one
/// costs the load of a flag.
namespace failpoints {

/// Every point's name, in the order a request's data passes them.
const std::vector<std::string_view>& names();

/// Arms the points of `spec`, "name[@N],...": the Nth time a point is passed (the
/// first without @N) the process kills itself. Throws std::invalid_argument for an
/// unknown name or a bad count, so a misspelt point never makes a test pass unarmed.
/// Call before any thread starts.
void arm(std::string_view spec);

extern std::atomic<bool> any_armed;

void pass_armed(std::string_view name);

} // namespace failpoints

inline void failpoint(std::string_view name) {
  if (failpoints::any_armed.load(std::memory_order_relaxed))
    failpoints::pass_armed(name);
}

} // namespace expd::runtime
