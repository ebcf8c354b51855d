#include "core/drift.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace expd::core {

namespace {

constexpr double pi = 3.14159265358979323846;

double clip_probability(double p) {
  return std::clamp(p, 0.0, 1.0);
}

// P(D+_n >= x), the one-sided statistic, by Birnbaum and Tingey's sum of positive terms
// (the exact value scipy.special.smirnov computes for n up to a million), in long double
// with the binomial coefficient carried as a logarithm so that no term overflows.
// kstwo_sf calls it with 0 < x < 1 and n >= 3 only.
double smirnov_sf(std::uint64_t n, double x) {
  const double nd = static_cast<double>(n);
  // SciPy answers 0 once exp(-2 n x^2), the size of the sum, is below the least normal double.
  if (-2 * nd * x * x < -708.3964185322641)
    return 0;
  if (n > 1000000) {
    // SciPy's approximation beyond that: p ~ exp(-(6nx + 1)^2 / 18n).
    const double logp = -std::pow(6.0 * nd * x + 1, 2) / 18.0 / nd;
    return logp < -std::log(2.0) ? std::exp(logp) : 1 + std::expm1(logp);
  }
  // floor(n x) exactly, from n x and its rounding error: the sum runs over
  // v <= n (1 - x), less the term that is 0 when n x is whole.
  const double product = nd * x;
  double whole = std::floor(product);
  if (product == whole && std::fma(nd, x, -product) < 0)
    whole -= 1;
  const std::uint64_t last = n - static_cast<std::uint64_t>(whole) - 1;
  const long double lx = x, ln = static_cast<long double>(n);
  long double sum = 0, log_binomial = 0;
  for (std::uint64_t v = 0; v <= last; ++v) {
    const long double lv = static_cast<long double>(v);
    const long double below = (ln - lv) / ln - lx; // 1 - x - v/n
    if (below > 0)
      sum += std::exp(log_binomial + (lv - 1) * std::log(lx + lv / ln) + (ln - lv) * std::log(below));
    log_binomial += std::log((ln - lv) / (lv + 1));
  }
  return static_cast<double>(sum * lx);
}

// Stirling's series for log(n! / n^n), as SciPy's _log_nfactorial_div_n_pow_n.
double log_factorial_over_power(double n) {
  constexpr std::array<double, 8> coefficients = {
      -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
      -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n, at = rn / n;
  double polynomial = 0;
  for (double c : coefficients)
    polynomial = polynomial * at + c;
  return std::log(n) / 2 - n + std::log(2 * pi) / 2 + rn * polynomial;
}

const double two_to_128 = std::ldexp(1.0, 128);
const double two_to_minus_128 = std::ldexp(1.0, -128);

using matrix = std::vector<std::vector<double>>;

matrix multiply(const matrix& a, const matrix& b) {
  const std::size_t m = a.size();
  matrix c(m, std::vector<double>(m, 0.0));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t l = 0; l < m; ++l)
      for (std::size_t j = 0; j < m; ++j)
        c[i][j] += a[i][l] * b[l][j];
  return c;
}

// P(D_n <= d) by Durbin's matrix, powered as Marsaglia, Tsang and Wang do (SciPy's
// _kolmogn_DMTW): d = (k - h) / n, the k-th diagonal entry of (n! / n^n) H^n, with
// powers of two taken out on the way so that nothing overflows. n d > 1.
double durbin_cdf(std::uint64_t n, double d) {
  const double nd = static_cast<double>(n) * d;
  const auto k = static_cast<std::size_t>(std::ceil(nd));
  const double h = static_cast<double>(k) - nd;
  const std::size_t m = 2 * k - 1;
  std::vector<double> v(m), w(m);
  double factorial = 1;
  for (std::size_t j = 1; j <= m; ++j) {
    v[j - 1] = 1 - std::pow(h, static_cast<double>(j));
    w[j - 1] = factorial;
    factorial /= static_cast<double>(j);
    v[j - 1] *= factorial;
  }
  const double md = static_cast<double>(m);
  v[m - 1] = (1 + std::pow(std::max(2 * h - 1, 0.0), md) - 2 * std::pow(h, md)) * factorial;
  matrix power(m, std::vector<double>(m, 0.0)), identity = power;
  for (std::size_t i = 1; i < m; ++i)
    for (std::size_t r = i - 1; r < m; ++r)
      power[r][i] = w[r - (i - 1)];
  for (std::size_t r = 0; r < m; ++r)
    power[r][0] = v[r];
  for (std::size_t c = 0; c < m; ++c)
    power[m - 1][c] = v[m - 1 - c];
  for (std::size_t i = 0; i < m; ++i)
    identity[i][i] = 1;
  matrix result = identity;
  long exponent = 0, power_exponent = 0;
  for (std::uint64_t left = n; left > 0; left /= 2) {
    if (left % 2) {
      result = multiply(result, power);
      exponent += power_exponent;
    }
    power = multiply(power, power);
    power_exponent *= 2;
    if (std::abs(power[k - 1][k - 1]) > two_to_128) {
      for (auto& row : power)
        for (auto& x : row)
          x /= two_to_128;
      power_exponent += 128;
    }
  }
  double p = result[k - 1][k - 1];
  const double n_double = static_cast<double>(n);
  for (std::uint64_t i = 1; i <= n; ++i) {
    p = static_cast<double>(i) * p / n_double;
    if (std::abs(p) < two_to_minus_128) {
      p *= two_to_128;
      exponent -= 128;
    }
  }
  if (exponent != 0)
    p = std::ldexp(p, static_cast<int>(exponent));
  return clip_probability(p);
}

struct row_span {
  long first, last;
};

// The non-zero entries of row i of Pomeranz's recursion (SciPy's _pomeranz_compute_j1j2).
row_span pomeranz_span(long i, long n, long whole, long ceil_f, long round_f) {
  long j1, j2;
  if (i == 0) {
    j1 = -whole - ceil_f - 1;
    j2 = whole + ceil_f - 1;
  } else {
    const long half = (i + 1) / 2;
    if ((i + 1) % 2 == 0) {
      if (half == n + 1) {
        j1 = n - whole - ceil_f - 1;
        j2 = n + whole + ceil_f - 1;
      } else {
        j1 = half - 1 - whole - round_f - 1;
        j2 = half + whole - 1 + ceil_f - 1;
      }
    } else {
      j1 = half - 1 - whole - 1;
      j2 = half + whole + round_f - 1;
    }
  }
  return {std::max(j1 + 2, 0L), std::min(j2, n)};
}

// P(D_n <= d) by Pomeranz's recursion (SciPy's _kolmogn_Pomeranz): 2n + 1 convolutions
// of a row with almost-Poisson weights, n! times the last entry.
double pomeranz_cdf(std::uint64_t n_unsigned, double x) {
  const long n = static_cast<long>(n_unsigned);
  const double t = static_cast<double>(n) * x;
  const long whole = static_cast<long>(std::floor(t));
  const double f = t - static_cast<double>(whole);
  const double g = std::min(f, 1.0 - f);
  const long ceil_f = f > 0 ? 1 : 0, round_f = f > 0.5 ? 1 : 0;
  const std::size_t powers = static_cast<std::size_t>(2 * (whole + 1));
  std::vector<double> g_power(powers), two_g_power(powers), rest_power(powers);
  g_power[0] = two_g_power[0] = rest_power[0] = 1;
  const double nd = static_cast<double>(n);
  for (std::size_t m = 1; m < powers; ++m) {
    const double md = static_cast<double>(m);
    g_power[m] = g_power[m - 1] * (g / nd) / md;
    two_g_power[m] = two_g_power[m - 1] * (2 * g / nd) / md;
    rest_power[m] = rest_power[m - 1] * ((1 - 2 * g) / nd) / md;
  }
  std::vector<double> v0(powers, 0.0), v1(powers, 0.0);
  v1[0] = 1;
  long v0_start = 0, v1_start = 0, exponent = 0;
  auto span = pomeranz_span(0, n, whole, ceil_f, round_f);
  for (long i = 1; i < 2 * n + 2; ++i) {
    const long k1 = span.first;
    std::swap(v0, v1);
    std::swap(v0_start, v1_start);
    std::fill(v1.begin(), v1.end(), 0.0);
    span = pomeranz_span(i, n, whole, ceil_f, round_f);
    const auto& weights = (i == 1 || i == 2 * n + 1) ? g_power : (i % 2 ? two_g_power : rest_power);
    const long length = span.last - k1 + 1;
    if (length <= 0)
      continue;
    const long offset = k1 - v0_start, lengthp = static_cast<long>(powers);
    const long a_length = std::min(length, lengthp - offset), b_length = std::min(length, lengthp);
    const long from = span.first - k1, count = span.last - span.first + 1;
    for (long c = 0; c < count; ++c) {
      double sum = 0;
      const long at = from + c;
      for (long a = std::max(0L, at - b_length + 1); a <= std::min(at, a_length - 1); ++a)
        sum += v0[static_cast<std::size_t>(offset + a)] * weights[static_cast<std::size_t>(at - a)];
      v1[static_cast<std::size_t>(c)] = sum;
    }
    const double largest = *std::max_element(v1.begin(), v1.end());
    if (largest > 0 && largest < two_to_minus_128) {
      for (auto& value : v1)
        value *= two_to_128;
      exponent -= 128;
    }
    v1_start = v0_start + span.first - k1;
  }
  double answer = v1[static_cast<std::size_t>(n - v1_start)];
  for (long m = 1; m <= n; ++m) {
    if (std::abs(answer) > two_to_128) {
      answer *= two_to_minus_128;
      exponent += 128;
    }
    answer *= static_cast<double>(m);
  }
  if (exponent != 0)
    answer = std::ldexp(answer, static_cast<int>(exponent));
  return clip_probability(answer);
}

// P(D_n <= x) by Pelz and Good's approximation (SciPy's _kolmogn_PelzGood): the
// Li-Chien and Korolyuk expansion in 1/sqrt(n), its terms as theta-function series.
double pelz_good_cdf(std::uint64_t n, double x) {
  const double nd = static_cast<double>(n);
  const double z = std::sqrt(nd) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double pi2 = pi * pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double q_log = -pi2 / 8 / z2;
  if (q_log < -708)
    return 0;
  double q = std::exp(q_log);
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
  const double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  std::array<double, 4> terms = {0, 0, 0, 0};
  const long max_k = static_cast<long>(std::ceil(16 * z / pi));
  for (long k = max_k; k > 0; --k) {
    const double m = static_cast<double>(2 * k - 1);
    const double m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double q_power = std::pow(q, static_cast<double>(8 * k));
    const std::array<double, 4> coefficients = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                                                k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (std::size_t i = 0; i < 4; ++i)
      terms[i] = terms[i] * q_power + coefficients[i];
  }
  const std::array<double, 4> divisors = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (std::size_t i = 0; i < 4; ++i)
    terms[i] = terms[i] * q * std::sqrt(2 * pi) / divisors[i];
  q = std::exp(-pi2 / 2 / z2);
  const double sqrt3z = std::sqrt(3.0) * z;
  double k2_extra = 0, k3_extra = 0;
  for (long k = max_k; k > 0; --k) {
    const double kd = static_cast<double>(k), k_squared = kd * kd;
    const double q_power = std::pow(q, k_squared);
    k2_extra += k_squared * q_power;
    k3_extra += (sqrt3z + pi * kd) * (sqrt3z - pi * kd) * k_squared * q_power;
  }
  terms[2] += k2_extra * pi2 * std::sqrt(2 * pi) / (-36 * z3);
  terms[3] += k3_extra * pi2 * std::sqrt(2 * pi) / (216 * z6);
  double sum = 0;
  for (std::size_t i = 0; i < 4; ++i)
    sum += terms[i] / std::pow(nd, static_cast<double>(i) / 2.0);
  return sum;
}

void check_fits(const drift_row& row, std::size_t numeric, std::size_t categorical) {
  if (row.numeric.size() != numeric || row.categorical.size() != categorical)
    throw std::invalid_argument("drift: a row's features do not match the schema");
}

std::map<std::string, double> category_shares(const std::vector<std::string>& values) {
  std::map<std::string, double> shares;
  for (auto& value : values)
    shares[value] += 1;
  for (auto& [category, share] : shares)
    share /= static_cast<double>(values.size());
  return shares;
}

// Both samples sorted ascending, neither empty.
ks_result ks_sorted(const std::vector<double>& a, const std::vector<double>& b) {
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double above = 0, below = 0;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    // Step past every copy of the next pooled value on both sides before measuring.
    const double x = j == b.size() || (i < a.size() && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.size() && a[i] <= x)
      ++i;
    while (j < b.size() && b[j] <= x)
      ++j;
    const double difference = static_cast<double>(i) / na - static_cast<double>(j) / nb;
    above = std::max(above, difference);
    below = std::max(below, -difference);
  }
  const double d = std::max(above, below);
  const double effective = std::nearbyint(na * nb / (na + nb));
  return {d, kstwo_sf(static_cast<std::uint64_t>(effective), d)};
}

} // namespace

double population_stability_index(const std::vector<double>& expected_share, const std::vector<double>& actual_share) {
  if (expected_share.size() != actual_share.size())
    throw std::invalid_argument("population_stability_index: the shares differ in length");
  double psi = 0;
  for (std::size_t i = 0; i < expected_share.size(); ++i) {
    const double e = std::max(expected_share[i], psi_share_floor);
    const double a = std::max(actual_share[i], psi_share_floor);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

std::vector<double> quantile_bin_edges(const std::vector<double>& sorted_reference, std::size_t bins) {
  if (sorted_reference.empty() || bins == 0)
    throw std::invalid_argument("quantile_bin_edges: no reference values or no bins");
  const std::size_t n = sorted_reference.size();
  std::vector<double> edges;
  for (std::size_t k = 1; k < bins; ++k) {
    const double edge = sorted_reference[k * n / bins];
    if (edge > sorted_reference.front() && (edges.empty() || edge > edges.back()))
      edges.push_back(edge);
  }
  return edges;
}

std::vector<double> bin_shares(const std::vector<double>& edges, const std::vector<double>& values) {
  if (values.empty())
    throw std::invalid_argument("bin_shares: no values");
  std::vector<double> shares(edges.size() + 1, 0.0);
  for (double v : values)
    shares[static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin())] += 1;
  for (auto& share : shares)
    share /= static_cast<double>(values.size());
  return shares;
}

ks_result ks_two_sample(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty())
    throw std::invalid_argument("ks_two_sample: a sample is empty");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return ks_sorted(a, b);
}

double kstwo_sf(std::uint64_t n, double d) {
  if (n == 0 || std::isnan(d))
    return std::numeric_limits<double>::quiet_NaN();
  if (d >= 1)
    return 0;
  if (d <= 0)
    return 1;
  const double nd = static_cast<double>(n);
  const double t = nd * d;
  // Simard and L'Ecuyer's regions, in SciPy's order (_kolmogn with cdf=False).
  if (t <= 1) {
    if (t <= 0.5)
      return 1;
    double p = 1;
    if (n <= 140) {
      for (std::uint64_t i = 1; i <= n; ++i)
        p *= static_cast<double>(i) * (1.0 / nd) * (2 * t - 1);
    } else {
      p = std::exp(log_factorial_over_power(nd) + nd * std::log(2 * t - 1));
    }
    return clip_probability(1 - p);
  }
  if (t >= nd - 1)
    return clip_probability(2 * std::pow(1 - d, nd));
  if (d >= 0.5)
    return clip_probability(2 * smirnov_sf(n, d));
  const double nx_squared = t * d;
  if (n <= 140) {
    if (nx_squared <= 0.754693)
      return clip_probability(1 - durbin_cdf(n, d));
    if (nx_squared <= 4)
      return clip_probability(1 - pomeranz_cdf(n, d));
    return clip_probability(2 * smirnov_sf(n, d));
  }
  if (nx_squared >= 370)
    return 0;
  if (nx_squared >= 2.2)
    return clip_probability(2 * smirnov_sf(n, d));
  const double cdf =
      n <= 100000 && nd * std::pow(d, 1.5) <= 1.4 ? durbin_cdf(n, d) : clip_probability(pelz_good_cdf(n, d));
  return clip_probability(1 - cdf);
}

std::string_view psi_level(double psi) noexcept {
  if (psi < 0.1)
    return "stable";
  if (psi <= 0.25)
    return "moderate";
  return "significant";
}

std::string_view to_string(feature_kind kind) noexcept {
  return kind == feature_kind::numeric ? "numeric" : "categorical";
}

drift_reference::drift_reference(const drift_schema& schema, const std::vector<drift_row>& rows,
                                 const drift_limits& limits) {
  for (auto& row : rows)
    check_fits(row, schema.numeric.size(), schema.categorical.size());
  for (std::size_t f = 0; f < schema.numeric.size(); ++f) {
    std::vector<double> all;
    all.reserve(rows.size());
    for (auto& row : rows)
      all.push_back(row.numeric[f]);
    std::sort(all.begin(), all.end());
    numeric_feature feature{schema.numeric[f], {}, {}, {}};
    // An even stride over the sorted values keeps their quantiles to within one stride.
    if (all.size() > limits.reference_values) {
      feature.sorted.reserve(limits.reference_values);
      for (std::size_t i = 0; i < limits.reference_values; ++i)
        feature.sorted.push_back(all[i * all.size() / limits.reference_values]);
    } else {
      feature.sorted = std::move(all);
    }
    if (!feature.sorted.empty()) {
      feature.edges = quantile_bin_edges(feature.sorted, limits.bins);
      feature.shares = bin_shares(feature.edges, feature.sorted);
    }
    numeric_.push_back(std::move(feature));
  }
  for (std::size_t f = 0; f < schema.categorical.size(); ++f) {
    std::vector<std::string> values;
    values.reserve(rows.size());
    for (auto& row : rows)
      values.push_back(row.categorical[f]);
    categorical_.push_back({schema.categorical[f], category_shares(values), values.size()});
  }
}

drift_window::drift_window(const drift_schema& schema, const drift_limits& limits)
    : capacity_(limits.window), numeric_(schema.numeric.size()), categorical_(schema.categorical.size()) {
  if (capacity_ == 0)
    throw std::invalid_argument("drift_window: a window holds at least one row");
}

void drift_window::add(const drift_row& row) {
  check_fits(row, numeric_.size(), categorical_.size());
  const bool full = size_ == capacity_;
  for (std::size_t f = 0; f < numeric_.size(); ++f) {
    if (full)
      numeric_[f][next_] = row.numeric[f];
    else
      numeric_[f].push_back(row.numeric[f]);
  }
  for (std::size_t f = 0; f < categorical_.size(); ++f) {
    if (full)
      categorical_[f][next_] = row.categorical[f];
    else
      categorical_[f].push_back(row.categorical[f]);
  }
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

drift_report compare(const drift_reference& reference, const drift_window& window, std::size_t min_live) {
  if (reference.numeric().size() != window.numeric_features()
      || reference.categorical().size() != window.categorical_features())
    throw std::invalid_argument("drift: the reference and the window have different schemas");
  drift_report report;
  const std::size_t live_n = window.size();
  for (std::size_t f = 0; f < reference.numeric().size(); ++f) {
    auto& ref = reference.numeric()[f];
    feature_drift out{ref.name, feature_kind::numeric, {}, {}, {}, ref.sorted.size(), live_n};
    if (live_n >= min_live && !ref.sorted.empty()) {
      std::vector<double> live = window.numeric(f);
      std::sort(live.begin(), live.end());
      out.psi = population_stability_index(ref.shares, bin_shares(ref.edges, live));
      auto ks = ks_sorted(ref.sorted, live);
      out.ks_statistic = ks.statistic;
      out.ks_p_value = ks.p_value;
    }
    report.features.push_back(std::move(out));
  }
  for (std::size_t f = 0; f < reference.categorical().size(); ++f) {
    auto& ref = reference.categorical()[f];
    feature_drift out{ref.name, feature_kind::categorical, {}, {}, {}, ref.n, live_n};
    if (live_n >= min_live && ref.n > 0) {
      auto live = category_shares(window.categorical(f));
      // Every category either side has seen, in one order for both.
      std::vector<double> expected, actual;
      for (auto& [category, share] : ref.shares) {
        expected.push_back(share);
        auto at = live.find(category);
        actual.push_back(at == live.end() ? 0.0 : at->second);
      }
      for (auto& [category, share] : live) {
        if (ref.shares.count(category) == 0) {
          expected.push_back(0.0);
          actual.push_back(share);
        }
      }
      out.psi = population_stability_index(expected, actual);
    }
    report.features.push_back(std::move(out));
  }
  return report;
}

nlohmann::json drift_report_json(const drift_report& report) {
  auto figure = [](const std::optional<double>& x) {
    return x && std::isfinite(*x) ? nlohmann::json(*x) : nlohmann::json();
  };
  auto features = nlohmann::json::array();
  for (auto& f : report.features)
    features.push_back({{"name", f.name},
                        {"kind", to_string(f.kind)},
                        {"psi", figure(f.psi)},
                        {"level", f.psi ? nlohmann::json(psi_level(*f.psi)) : nlohmann::json()},
                        {"ks_statistic", figure(f.ks_statistic)},
                        {"ks_p_value", figure(f.ks_p_value)},
                        {"reference_n", f.reference_n},
                        {"live_n", f.live_n}});
  return {{"features", std::move(features)}};
}

} // namespace expd::core
