#pragma once

#include <cstdint>
#include <optional>
#include <vector>

// Which variant each unit holds in each experiment of an aggregation pass, so that an
// event crediting another variant (a client's bug, or a forged claim) is kept out of
// the analysis and counted (docs/aggregation.md, "Events that credit an unheld variant").
namespace expd::core {

class held_variants {
public:
  /// Unit `unit` holds `variant` in `experiment` (the caller's dense numbers).
  void add(std::uint32_t experiment, std::uint32_t unit, std::uint32_t variant);

  /// Call after the last add() and before held(): sorts for lookup.
  void seal();

  /// The variant `unit` holds in `experiment`; nullopt when it was never assigned (an
  /// event of such a unit cannot be checked and is kept).
  std::optional<std::uint32_t> held(std::uint32_t experiment, std::uint32_t unit) const;

  /// Calls fn(unit, variant) for every unit held in `experiment`, after seal().
  template <class F>
  void each_in(std::uint32_t experiment, F&& fn) const {
    for (auto it = first_of(experiment);
         it != entries_.end() && static_cast<std::uint32_t>(it->key >> 32) == experiment; ++it)
      fn(static_cast<std::uint32_t>(it->key), it->variant);
  }

  std::size_t size() const noexcept {
    return entries_.size();
  }

private:
  struct entry {
    std::uint64_t key; ///< experiment << 32 | unit
    std::uint32_t variant;
  };
  std::vector<entry>::const_iterator first_of(std::uint32_t experiment) const;
  std::vector<entry> entries_;
};

} // namespace expd::core
