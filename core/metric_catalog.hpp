#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event_type.hpp"

namespace expd::core {

/// The metrics an aggregation pass counts, each named by its index (its place in
/// metric_rollup's plan), and how an event's metrics object becomes values of them.
class metric_catalog {
public:
  struct metric {
    std::string event_type;
    std::string name;
    per_unit_rule rule = per_unit_rule::sum;
  };

  /// Every metric of every event type, in declaration order.
  explicit metric_catalog(const std::vector<event_type>& types);

  const std::vector<metric>& metrics() const noexcept {
    return metrics_;
  }

  /// The values of `metrics_json` (an event's metrics object, as text) that are metrics
  /// of `event_type` here, as (metric index, value) into `out` (cleared first): numbers
  /// as doubles, true 1, false 0; anything else and undeclared keys are skipped. False
  /// when the text is not a JSON object (then `out` is empty).
  bool values(std::string_view event_type, std::string_view metrics_json,
              std::vector<std::pair<std::uint32_t, double>>& out) const;

private:
  std::vector<metric> metrics_;
  struct type_metrics {
    std::string event_type;
    std::vector<std::pair<std::string, std::uint32_t>> metrics; // (name, index), a few
  };
  std::vector<type_metrics> by_type_; // sorted by event type
};

} // namespace expd::core
