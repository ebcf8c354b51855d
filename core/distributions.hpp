#pragma once

namespace expd::core {

// Distribution functions the statistics need, from Boost.Math, with one error policy:
// a domain error or an overflow gives NaN or infinity instead of throwing, and callers
// check their inputs first. Internally Boost evaluates in long double.

/// P(|T| >= |t|) for Student's t with `df` (> 0, not necessarily whole) degrees of
/// freedom: the two-sided p-value, from the upper tail so that it stays accurate when
/// tiny.
double t_two_sided_p(double t, double df) noexcept;

/// The t with P(|T| <= t) = `confidence` (0 < confidence < 1): an interval's half
/// width in standard errors.
double t_critical(double confidence, double df) noexcept;

/// P(Z <= z) for the standard normal.
double normal_cdf(double z) noexcept;

/// P(|Z| >= |z|) for the standard normal.
double normal_two_sided_p(double z) noexcept;

/// The z with P(|Z| <= z) = `confidence`.
double normal_critical(double confidence) noexcept;

/// The z with P(Z <= z) = `p`, and with P(Z > z) = `tail` (no cancellation near 1).
double normal_quantile(double p) noexcept;
double normal_upper_quantile(double tail) noexcept;

/// P(X > x) for chi-square with `df` degrees of freedom.
double chi_square_upper_tail(double x, double df) noexcept;

/// Density, distribution function and quantile of Beta(a, b), a, b > 0.
double beta_pdf(double x, double a, double b) noexcept;
double beta_cdf(double x, double a, double b) noexcept;
double beta_quantile(double p, double a, double b) noexcept;
/// The x with P(X > x) = `tail`.
double beta_upper_quantile(double tail, double a, double b) noexcept;

} // namespace expd::core
