"""Reference values for tests/core/power_test.cpp from SciPy, NumPy and statsmodels.

One request a line on stdin, one answer a line on stdout: numbers separated by spaces,
printed with repr (17 significant digits). Samples arrive as files of little-endian
float64 per-unit values written by the test; the test compares with what the C++
computes from their moments only. Where the C++ value is sent along (the last
argument), the answer also says what statsmodels makes of it.

Power in core/power.hpp is the chance of a significant result in the effect's direction,
Phi(a - z(1 - alpha/2)) for a = effect / se: statsmodels' NormalIndPower at alpha/2 with
alternative="larger". Its two-sided power adds Phi(-a - z(1 - alpha/2)), the wrong sign.
"""
import math
import sys
import warnings

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.power import NormalIndPower

warnings.simplefilter("ignore")


def load(path):
    return np.fromfile(path, dtype="<f8")


def z_sum(alpha, power):
    return stats.norm.isf(alpha / 2) + stats.norm.ppf(power)


def solve_nobs1(effect, alpha, power, ratio):
    """The nobs1 at which NormalIndPower's power (one-sided at alpha, "larger") is
    `power`, by brentq to full precision. solve_power itself stops at its xtol of 1e-5
    units and searches only from nobs1 = 2 up."""
    def excess(nobs1):
        return NormalIndPower().power(effect, nobs1=nobs1, alpha=alpha, ratio=ratio,
                                      alternative="larger") - power
    low, high = 1e-12, 1.0
    while excess(high) < 0:
        low, high = high, 2 * high
    return optimize.brentq(excess, low, high, xtol=1e-300, rtol=4 * np.finfo(float).eps,
                           maxiter=500)


def mean_n(path, relative_mde, alpha, power, ratio, ours):
    """[nobs1 from NormalIndPower's power solved exactly, the closed form in NumPy,
    two-sided power at our nobs1, the wrong-sign tail Phi(-2 z(1-alpha/2) - z(power)),
    the absolute effect, nobs1 from NormalIndPower.solve_power (to its xtol 1e-5; nan
    below its search's lower end of 2)]."""
    c = load(path)
    relative_mde, alpha, power, ratio, ours = map(float, (relative_mde, alpha, power, ratio, ours))
    delta = relative_mde * abs(np.mean(c))
    sd = np.std(c, ddof=1)
    effect = delta / sd
    solved = solve_nobs1(effect, alpha / 2, power, ratio)
    own = math.nan
    if ours > 2:
        own = NormalIndPower().solve_power(effect_size=effect, alpha=alpha / 2, power=power,
                                           ratio=ratio, alternative="larger")
    closed = z_sum(alpha, power) ** 2 * sd**2 * (1 + 1 / ratio) / delta**2
    two_sided = NormalIndPower().power(effect, nobs1=ours, alpha=alpha, ratio=ratio,
                                       alternative="two-sided")
    wrong_sign = stats.norm.cdf(-2 * stats.norm.isf(alpha / 2) - stats.norm.ppf(power))
    return [solved, closed, two_sided, wrong_sign, delta, float(own)]


def conversion_n(path, relative_mde, alpha, power, ratio):
    """The unpooled formula written out: [n_c, n_t, p' - p]."""
    c = load(path)
    relative_mde, alpha, power, ratio = map(float, (relative_mde, alpha, power, ratio))
    p = c.sum() / len(c)
    p2 = p * (1 + relative_mde)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n_c = z**2 * (p * (1 - p) + p2 * (1 - p2) / ratio) / (p2 - p) ** 2
    return [n_c, ratio * n_c, p2 - p]


def mde(path_t, path_c, alpha, power, ours):
    """[absolute, relative (nan at a control mean of 0), statsmodels' power at our
    absolute MDE: one-sided at alpha/2, and two-sided, the wrong-sign tail]."""
    t, c = load(path_t), load(path_c)
    alpha, power, ours = float(alpha), float(power), float(ours)
    v = np.var(t, ddof=1) / len(t) + np.var(c, ddof=1) / len(c)
    absolute = z_sum(alpha, power) * math.sqrt(v)
    mean_c = np.mean(c)
    relative = absolute / abs(mean_c) if mean_c != 0 else math.nan
    # NormalIndPower standardises by one sd over nobs = 1 / (1/n_c + 1/n_t); the effect
    # size that gives our MDE over sqrt(v) standard errors:
    ratio = len(t) / len(c)
    nobs = 1 / (1 / len(c) + 1 / len(t))
    effect = ours / math.sqrt(v) / math.sqrt(nobs)
    one_sided = NormalIndPower().power(effect, nobs1=len(c), alpha=alpha / 2, ratio=ratio,
                                       alternative="larger")
    two_sided = NormalIndPower().power(effect, nobs1=len(c), alpha=alpha, ratio=ratio,
                                       alternative="two-sided")
    wrong_sign = stats.norm.cdf(-2 * stats.norm.isf(alpha / 2) - stats.norm.ppf(power))
    return [absolute, relative, one_sided, two_sided, wrong_sign]


REQUESTS = {"mean_n": mean_n, "conversion_n": conversion_n, "mde": mde}

for line in sys.stdin:
    kind, *args = line.split()
    print(" ".join(repr(float(v)) for v in REQUESTS[kind](*args)), flush=True)
