"""Reference values for tests/core/statistics_test.cpp from SciPy and statsmodels.

One request a line on stdin, one answer a line on stdout: numbers separated by spaces,
printed with repr (17 significant digits), "nan" where the reference finds the value
undefined. Samples arrive as files of little-endian float64 per-unit values, written by
the test from its own seeded generator; the test compares with what the C++ computes
from those samples' moments only.
"""
import math
import sys
import warnings
from fractions import Fraction

import numpy as np
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint,
                                          test_proportions_2indep)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

warnings.simplefilter("ignore")  # nan results of empty or constant samples are expected


def load(path):
    return np.fromfile(path, dtype="<f8")


def numbers(text):
    """A comma-separated list; "-" is the empty one."""
    return [] if text == "-" else [float(v) for v in text.split(",")]


def guarded(compute, count):
    """compute()'s values, or `count` nans where the reference refuses the input."""
    try:
        return list(compute())
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return [math.nan] * count


def summary(path, confidence):
    a = load(path)

    def compute():
        mean, var, sem = np.mean(a), np.var(a, ddof=1), stats.sem(a)
        low, high = stats.t.interval(float(confidence), len(a) - 1, loc=mean, scale=sem)
        return mean, var, sem, low, high
    return guarded(compute, 5)


def welch(path_t, path_c, confidence):
    t, c = load(path_t), load(path_c)

    def compute():
        result = stats.ttest_ind(t, c, equal_var=False)
        compare = CompareMeans(DescrStatsW(t), DescrStatsW(c))
        _, _, df = compare.ttest_ind(usevar="unequal")
        low, high = compare.tconfint_diff(alpha=1 - float(confidence), usevar="unequal")
        return np.mean(t) - np.mean(c), low, high, result.statistic, df, result.pvalue
    return guarded(compute, 6)


def relative(path_t, path_c, confidence):
    # The delta method written out: Var(m_t/m_c) ~ v_t/m_c^2 + m_t^2 v_c/m_c^4, with the
    # t quantile on the Welch-Satterthwaite df, written out too.
    t, c = load(path_t), load(path_c)
    mt, mc = np.mean(t), np.mean(c)
    if len(t) < 2 or len(c) < 2 or mc == 0:
        return [math.nan] * 3
    vt, vc = np.var(t, ddof=1) / len(t), np.var(c, ddof=1) / len(c)
    se = math.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
    lift = (mt - mc) / mc
    if se == 0:
        return [lift, math.nan, math.nan]
    df = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1))
    q = stats.t.ppf(1 - (1 - float(confidence)) / 2, df)
    return [lift, lift - q * se, lift + q * se]


def chance(path_t, path_c):
    t, c = load(path_t), load(path_c)
    if len(t) < 2 or len(c) < 2:
        return [math.nan]
    se = math.sqrt(np.var(t, ddof=1) / len(t) + np.var(c, ddof=1) / len(c))
    return [stats.norm.cdf((np.mean(t) - np.mean(c)) / se) if se > 0 else math.nan]


def msprt(path_t, path_c, tau_sq):
    """Johari, Pekelis, Walsh (2017), two-sample normal mixture. With n units per arm and
    variance sigma^2 the paper's closed form is
      Lambda = sqrt(2 s^2 / (2 s^2 + n tau^2)) exp(n^2 tau^2 d^2 / (4 s^2 (2 s^2 + n tau^2)));
    with unequal arms 2 sigma^2 / n becomes V = s_t^2/n_t + s_c^2/n_c."""
    t, c = load(path_t), load(path_c)
    tau_sq = float(tau_sq)
    if len(t) < 2 or len(c) < 2:
        return [math.nan]
    d = np.mean(t) - np.mean(c)
    if len(t) == len(c):
        n, s2 = len(t), (np.var(t, ddof=1) + np.var(c, ddof=1)) / 2
        if s2 == 0:
            return [math.nan]
        lam = math.sqrt(2 * s2 / (2 * s2 + n * tau_sq)) * math.exp(
            n * n * tau_sq * d * d / (4 * s2 * (2 * s2 + n * tau_sq)))
    else:
        v = np.var(t, ddof=1) / len(t) + np.var(c, ddof=1) / len(c)
        if v == 0:
            return [math.nan]
        lam = math.sqrt(v / (v + tau_sq)) * math.exp(tau_sq * d * d / (2 * v * (v + tau_sq)))
    return [min(1.0, 1 / lam)]


def proportions(path_t, path_c, confidence):
    """diff, interval, z, p and the variance z divides by. The counts stay NumPy floats:
    statsmodels also forms p_t / p_c, which a Python float would refuse at p_c = 0."""
    t, c = load(path_t), load(path_c)
    xt, nt, xc, nc = t.sum(), len(t), c.sum(), len(c)

    def compute():
        test = test_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff",
                                       correction=False)
        low, high = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff",
                                               alpha=1 - float(confidence))
        return xt / nt - xc / nc, low, high, test.statistic, test.pvalue, test.variance
    return guarded(compute, 6)


def wilson(path, confidence):
    """Rate p, p(1-p), sqrt(p(1-p)/n) and the Wilson interval of 0/1 values."""
    a = load(path)
    x, n = a.sum(), len(a)
    if n == 0:
        return [math.nan] * 5
    p = x / n
    low, high = proportion_confint(x, n, alpha=1 - float(confidence), method="wilson")
    return [p, p * (1 - p), math.sqrt(p * (1 - p) / n), low, high]


def exact_beta_chance(xt, nt, xc, nc):
    """P(p_t > p_c) for Beta(1+x, 1+n-x) posteriors as an exact rational sum (Evan Miller,
    "Formulas for Bayesian A/B testing"), for small counts."""
    def b(a, b_):
        return Fraction(math.factorial(a - 1) * math.factorial(b_ - 1), math.factorial(a + b_ - 1))
    a_t, b_t, a_c, b_c = 1 + xt, 1 + nt - xt, 1 + xc, 1 + nc - xc
    total = sum(b(a_c + i, b_c + b_t) / ((b_t + i) * b(1 + i, b_t) * b(a_c, b_c))
                for i in range(a_t))
    return float(total)


def beta_chance(path_t, path_c):
    t, c = load(path_t), load(path_c)
    xt, nt, xc, nc = int(t.sum()), len(t), int(c.sum()), len(c)
    if nt < 2 or nc < 2:
        return [math.nan, math.nan]
    a_t, b_t, a_c, b_c = 1 + xt, 1 + nt - xt, 1 + xc, 1 + nc - xc
    post_t = stats.beta(a_t, b_t)
    post_c = stats.beta(a_c, b_c)
    # quad over all of [0, 1], told where a narrow posterior's mass is.
    mean, sd = post_t.mean(), post_t.std()
    points = sorted({min(1.0, max(0.0, mean + k * sd)) for k in (-30, -10, -4, 0, 4, 10, 30)}
                    - {0.0, 1.0})
    value, _ = integrate.quad(lambda x: post_t.pdf(x) * post_c.cdf(x), 0, 1, points=points,
                              epsabs=0, epsrel=1e-13, limit=2000)
    exact = exact_beta_chance(xt, nt, xc, nc) if nt + nc <= 400 else math.nan
    return [value, exact]


def srm(units, allocations):
    """Over the variants with a positive allocation only."""
    observed, weights = np.array(numbers(units)), np.array(numbers(allocations))
    observed, weights = observed[weights > 0], weights[weights > 0]
    expected = observed.sum() * weights / weights.sum()
    result = stats.chisquare(observed, f_exp=expected)
    return [result.statistic, result.pvalue]


def cuped(*paths):
    arms = [(load(paths[i]), load(paths[i + 1])) for i in range(0, len(paths), 2)]
    sxy = sum(np.sum((x - x.mean()) * (y - y.mean())) for y, x in arms)
    sxx = sum(np.sum((x - x.mean()) ** 2) for y, x in arms)
    if sxx == 0 or any(len(y) < 2 for y, x in arms):
        return [math.nan] * 8
    theta = sxy / sxx
    mean_x = np.concatenate([x for y, x in arms]).mean()
    adjusted = [y - theta * (x - mean_x) for y, x in arms]
    removed = 1 - sum(np.sum((a - a.mean()) ** 2) for a in adjusted) / sum(
        np.sum((y - y.mean()) ** 2) for y, x in arms)
    result = stats.ttest_ind(adjusted[0], adjusted[1], equal_var=False)
    return [theta, removed, adjusted[0].mean(), adjusted[1].mean(),
            np.var(adjusted[0], ddof=1), np.var(adjusted[1], ddof=1),
            result.statistic, result.pvalue]


def adjusted(method, p_values):
    p = numbers(p_values)
    return list(multipletests(p, method=method)[1]) if p else []


REQUESTS = {
    "summary": summary, "welch": welch, "relative": relative, "chance": chance,
    "msprt": msprt, "proportions": proportions, "wilson": wilson,
    "beta_chance": beta_chance, "srm": srm,
    "cuped": cuped,
    "holm": lambda p: adjusted("holm", p), "bh": lambda p: adjusted("fdr_bh", p),
}

for line in sys.stdin:
    kind, *args = line.split()
    print(" ".join(repr(float(v)) for v in REQUESTS[kind](*args)), flush=True)
