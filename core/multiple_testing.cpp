#include "core/multiple_testing.hpp"

#include <algorithm>
#include <numeric>

namespace expd::core {

namespace {

// The result to fill, sized like `p`, and `order` set to the indices of `p` by ascending
// p-value; invalid_input (and `order` empty) when a p-value is outside [0, 1] or NaN.
adjusted_p_values start(const std::vector<double>& p, std::vector<std::size_t>& order) {
  if (!std::all_of(p.begin(), p.end(), [](double v) { return v >= 0 && v <= 1; }))
    return {};
  order.resize(p.size());
  std::iota(order.begin(), order.end(), 0);
  // Ties get the same adjusted value in either order, so stability is only tidiness.
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return p[a] < p[b]; });
  return {statistic_status::ok, std::vector<double>(p.size())};
}

} // namespace

adjusted_p_values holm(const std::vector<double>& p_values) {
  std::vector<std::size_t> order;
  auto out = start(p_values, order);
  auto m = static_cast<double>(order.size());
  double running = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto raw = (m - static_cast<double>(i)) * p_values[order[i]];
    running = std::max(running, std::min(1.0, raw));
    out.values[order[i]] = running;
  }
  return out;
}

adjusted_p_values benjamini_hochberg(const std::vector<double>& p_values) {
  std::vector<std::size_t> order;
  auto out = start(p_values, order);
  auto m = static_cast<double>(order.size());
  double running = 1;
  for (std::size_t i = order.size(); i-- > 0;) {
    running = std::min(running, p_values[order[i]] * m / static_cast<double>(i + 1));
    out.values[order[i]] = running;
  }
  return out;
}

} // namespace expd::core
