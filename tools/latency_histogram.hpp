#pragma once

#include <array>
#include <cstdint>
#include <vector>

// Latencies in nanoseconds in log-linear buckets (as HdrHistogram lays them out): exact
// below 128, above that 128 linear buckets per power of two. A bucket is at most 1/128
// of its lower bound wide, and a percentile is read as its bucket's middle, so it is
// within 1/256 (0.4%) of the recorded value it stands for. Recording is one index
// computation and an increment; nothing is sorted.
namespace expd::tools {

class latency_histogram {
public:
  static constexpr int sub_bucket_bits = 7;
  static constexpr std::uint64_t sub_buckets = 1u << sub_bucket_bits;
  static constexpr std::size_t bucket_count = (64 - sub_bucket_bits + 1) * sub_buckets;

  latency_histogram() : counts_(bucket_count, 0) {}

  void record(std::uint64_t nanoseconds) {
    ++counts_[index_of(nanoseconds)];
    ++count_;
    sum_ += nanoseconds;
    if (nanoseconds > max_)
      max_ = nanoseconds;
    if (nanoseconds < min_)
      min_ = nanoseconds;
  }

  void merge(const latency_histogram& other);

  std::uint64_t count() const noexcept {
    return count_;
  }
  /// Exact, not bucketed; 0 when empty.
  std::uint64_t max() const noexcept {
    return max_;
  }
  std::uint64_t min() const noexcept {
    return count_ == 0 ? 0 : min_;
  }
  double mean() const noexcept {
    return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }

  /// The smallest recorded value v (to within 0.4%) such that at least `percent` % of
  /// the values are <= v: numpy.percentile's method="inverted_cdf". 0 when empty.
  std::uint64_t percentile(double percent) const;

  static std::size_t index_of(std::uint64_t value) noexcept {
    if (value < sub_buckets)
      return static_cast<std::size_t>(value);
    int exponent = 63 - __builtin_clzll(value); // >= sub_bucket_bits
    int shift = exponent - sub_bucket_bits;
    return static_cast<std::size_t>((shift + 1) * sub_buckets + ((value >> shift) - sub_buckets));
  }

  /// The middle of bucket `index`, the value a percentile in it is read as.
  static std::uint64_t middle_of(std::size_t index) noexcept;

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

} // namespace expd::tools
