#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace expd::runtime {

/// Request latencies, in the Prometheus histogram shape (cumulative on render).
class latency_histogram {
public:
  static constexpr std::array<double, 14> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                 0.005,  0.01,    0.025,  0.05,  0.1,
                                                 0.25,   0.5,     1.0,    2.5};

  void observe(double seconds) noexcept;

  /// Appends the _bucket, _sum and _count lines of metric `name` with `labels`.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

private:
  std::array<std::uint64_t, bounds.size() + 1> counts_{}; // last: +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// Renders samples in the text exposition format: samples of one name together,
/// under a single HELP and TYPE line.
std::string render_samples(const std::vector<metric_sample>& samples);

/// A label value escaped for the exposition format (backslash, quote, newline).
std::string label_value(const std::string& text);

} // namespace expd::runtime
