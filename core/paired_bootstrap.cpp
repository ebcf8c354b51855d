#include "core/paired_bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace expd::core {

namespace {

double percentile(const std::vector<double>& sorted, double q) {
  const double at = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(at));
  const auto above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (at - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

} // namespace

bootstrap_interval paired_bootstrap(const std::vector<double>& candidate, const std::vector<double>& baseline,
                                    std::uint32_t resamples, double confidence, std::uint64_t seed) {
  if (candidate.size() != baseline.size())
    throw std::invalid_argument("paired_bootstrap: candidate and baseline differ in rows");
  if (candidate.empty())
    throw std::invalid_argument("paired_bootstrap: no rows");
  if (resamples == 0)
    throw std::invalid_argument("paired_bootstrap: no resamples");
  if (!(confidence > 0 && confidence < 1))
    throw std::invalid_argument("paired_bootstrap: confidence must be in (0, 1)");
  const std::size_t n = candidate.size();
  std::vector<double> differences(n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    sum += differences[i] = candidate[i] - baseline[i];
  std::mt19937_64 engine(seed);
  std::vector<double> means(resamples);
  for (auto& mean : means) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i)
      s += differences[engine() % n];
    mean = s / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double tail = (1 - confidence) / 2;
  return {sum / static_cast<double>(n), percentile(means, tail), percentile(means, 1 - tail)};
}

} // namespace expd::core
