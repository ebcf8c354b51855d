#pragma once

#include <cstdint>
#include <random>

// Unit ranks for expctl load: uniform or Zipf over 1..n, from a seeded generator, so a
// run's sequence of unit ids is reproducible.
namespace expd::tools {

/// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double unit_interval(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

/// A uniform rank in 1..n (n >= 1); the bias of multiply-shift is n / 2^64.
inline std::uint64_t uniform_rank(std::mt19937_64& rng, std::uint64_t n) {
  return 1 + static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

/// Zipf's law over ranks 1..n: P(k) = k^-s / H(n, s), for s > 0. Rejection-inversion
/// (Hoermann and Derflinger 1996, as in Apache Commons RNG): O(1) time and memory per
/// draw whatever n, with fewer than 1.1 draws of the generator per rank on average.
class zipf_sampler {
public:
  zipf_sampler(std::uint64_t n, double s);

  std::uint64_t operator()(std::mt19937_64& rng) const;

private:
  double h(double x) const;
  double h_integral(double x) const;
  double h_integral_inverse(double x) const;

  std::uint64_t n_;
  double s_;
  double h_integral_x1_;
  double h_integral_n_;
  double squeeze_;
};

} // namespace expd::tools
