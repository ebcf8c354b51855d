#include "core/held_variants.hpp"

#include <algorithm>

namespace expd::core {

namespace {

std::uint64_t key_of(std::uint32_t experiment, std::uint32_t unit) noexcept {
  return static_cast<std::uint64_t>(experiment) << 32 | unit;
}

} // namespace

void held_variants::add(std::uint32_t experiment, std::uint32_t unit, std::uint32_t variant) {
  entries_.push_back({key_of(experiment, unit), variant});
}

void held_variants::seal() {
  // A unit has one row per experiment in exp.assignments; should two arrive, the later wins.
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const entry& a, const entry& b) { return a.key < b.key; });
  auto last = std::unique(entries_.rbegin(), entries_.rend(),
                          [](const entry& a, const entry& b) { return a.key == b.key; });
  entries_.erase(entries_.begin(), last.base());
}

std::vector<held_variants::entry>::const_iterator
held_variants::first_of(std::uint32_t experiment) const {
  return std::lower_bound(entries_.begin(), entries_.end(), key_of(experiment, 0),
                          [](const entry& e, std::uint64_t k) { return e.key < k; });
}

std::optional<std::uint32_t> held_variants::held(std::uint32_t experiment,
                                                 std::uint32_t unit) const {
  auto key = key_of(experiment, unit);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const entry& e, std::uint64_t k) { return e.key < k; });
  if (it == entries_.end() || it->key != key)
    return std::nullopt;
  return it->variant;
}

} // namespace expd::core
