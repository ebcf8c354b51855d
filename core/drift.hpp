#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// Drift of live requests' features against the training dataset's inputs: the
// population stability index over bins the reference fixes, and for numeric features
// the two-sample Kolmogorov-Smirnov test as SciPy computes it. Both are checked against
// tests/core/drift_reference.py.
namespace expd::core {

/// Each share below it (an empty bin or an unseen category in particular) counts as this
/// share, so that ln(a / e) stays finite. Shares are not renormalised afterwards.
inline constexpr double psi_share_floor = 1e-4;

/// sum over bins of (a - e) * ln(a / e), every share first raised to psi_share_floor.
/// Throws std::invalid_argument when the two differ in length.
double population_stability_index(const std::vector<double>& expected_share, const std::vector<double>& actual_share);

/// The edges of `bins` (>= 1) quantile bins of `sorted_reference` (ascending, not empty):
/// edge k (k = 1 .. bins - 1) is the order statistic sorted_reference[floor(k * n / bins)]
/// (0-based), duplicate edges and edges equal to the minimum dropped, so that ties merge
/// bins and every bin holds at least one reference value. A value v falls in bin i, i the
/// number of edges <= v (bins.size() + 1 bins in all).
std::vector<double> quantile_bin_edges(const std::vector<double>& sorted_reference, std::size_t bins = 10);

/// Each bin's share of `values` (not empty) under `edges` as quantile_bin_edges makes them.
std::vector<double> bin_shares(const std::vector<double>& edges, const std::vector<double>& values);

struct ks_result {
  double statistic = 0; ///< D: the largest distance between the two empirical CDFs
  double p_value = 1;   ///< two-sided
};

/// The two-sample Kolmogorov-Smirnov test as scipy.stats.ks_2samp(a, b, method='asymp'):
/// D exact over the pooled values (each sample's CDF counts every value <= x, so ties
/// step together), p = kstwo_sf(round(n * m / (n + m)), D), rounding half to even as
/// NumPy does. NaN p-value with one value on each side (SciPy's too). Throws
/// std::invalid_argument when a sample is empty.
ks_result ks_two_sample(std::vector<double> a, std::vector<double> b);

/// P(D_n >= d) for the one-sample two-sided Kolmogorov-Smirnov statistic of n values, as
/// scipy.stats.kstwo.sf (Simard and L'Ecuyer's choice among the exact and approximate
/// methods). NaN for n = 0.
double kstwo_sf(std::uint64_t n, double d);

/// "stable" below 0.1, "moderate" up to 0.25, "significant" above: the usual reading.
std::string_view psi_level(double psi) noexcept;

enum class feature_kind { numeric, categorical };

std::string_view to_string(feature_kind kind) noexcept;

/// The features a reference and a window hold, by name (snake_case, a metric label).
struct drift_schema {
  std::vector<std::string> numeric;
  std::vector<std::string> categorical;
};

/// One request's feature values, in its schema's order.
struct drift_row {
  std::vector<double> numeric;
  std::vector<std::string> categorical;
};

struct drift_limits {
  std::size_t reference_values = 10000; ///< kept per numeric feature, by an even stride over the sorted sample
  std::size_t bins = 10;
  std::size_t window = 5000; ///< the live values kept per feature: the last ones added
};

/// The training side, built once: per numeric feature its sorted (thinned) sample, bin
/// edges and bin shares; per categorical feature the share of each category.
class drift_reference {
public:
  struct numeric_feature {
    std::string name;
    std::vector<double> sorted;
    std::vector<double> edges;
    std::vector<double> shares;
  };
  struct categorical_feature {
    std::string name;
    std::map<std::string, double> shares;
    std::size_t n = 0;
  };

  /// Throws std::invalid_argument for a row that does not fit `schema`.
  drift_reference(const drift_schema& schema, const std::vector<drift_row>& rows, const drift_limits& limits = {});

  const std::vector<numeric_feature>& numeric() const noexcept { return numeric_; }
  const std::vector<categorical_feature>& categorical() const noexcept { return categorical_; }

private:
  std::vector<numeric_feature> numeric_;
  std::vector<categorical_feature> categorical_;
};

/// The live side: the last `limits.window` rows, overwritten in a ring.
class drift_window {
public:
  explicit drift_window(const drift_schema& schema, const drift_limits& limits = {});

  /// Throws std::invalid_argument for a row that does not fit the schema.
  void add(const drift_row& row);

  std::size_t size() const noexcept { return size_; }
  std::size_t numeric_features() const noexcept { return numeric_.size(); }
  std::size_t categorical_features() const noexcept { return categorical_.size(); }
  /// Feature i's live values in ring-slot order (no figure depends on their order).
  const std::vector<double>& numeric(std::size_t i) const { return numeric_[i]; }
  const std::vector<std::string>& categorical(std::size_t i) const { return categorical_[i]; }

private:
  std::size_t capacity_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
  std::vector<std::vector<double>> numeric_;
  std::vector<std::vector<std::string>> categorical_;
};

struct feature_drift {
  std::string name;
  feature_kind kind = feature_kind::numeric;
  std::optional<double> psi;          ///< nothing with too few live values
  std::optional<double> ks_statistic; ///< numeric features only
  std::optional<double> ks_p_value;
  std::size_t reference_n = 0;
  std::size_t live_n = 0;
};

struct drift_report {
  std::vector<feature_drift> features; ///< numeric features first, then categorical, each in schema order
};

/// Every feature of `reference` against `window`; a feature with fewer than `min_live`
/// live values, or no reference values, has no figures. Throws std::invalid_argument when
/// the two were built for schemas of different sizes.
drift_report compare(const drift_reference& reference, const drift_window& window, std::size_t min_live = 30);

/// {"features": [{"name", "kind", "psi", "level", "ks_statistic", "ks_p_value",
/// "reference_n", "live_n"}]}: a figure not computed is null, as is its level.
nlohmann::json drift_report_json(const drift_report& report);

} // namespace expd::core
