#include "tools/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace expd::tools {

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

std::uint64_t latency_histogram::middle_of(std::size_t index) noexcept {
  if (index < 2 * sub_buckets)
    return index; // widths of 1: exact
  std::size_t shift = index / sub_buckets - 1;
  std::uint64_t lower = (sub_buckets + index % sub_buckets) << shift;
  return lower + ((std::uint64_t{1} << shift) - 1) / 2;
}

std::uint64_t latency_histogram::percentile(double percent) const {
  if (count_ == 0)
    return 0;
  // The rank of inverted_cdf: the first value whose cumulative count reaches q * n, in
  // numpy's floating point (99.9% of 200000 is the 199801st value there, 0.999 being
  // a hair above itself in binary).
  double wanted = std::clamp(percent, 0.0, 100.0) / 100 * static_cast<double>(count_);
  auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(wanted)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(middle_of(i), min(), max_);
  }
  return max_;
}

} // namespace expd::tools
