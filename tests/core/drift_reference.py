"""Reference drift figures for tests/core/drift_test.cpp from SciPy and NumPy.

One request a line on stdin, one answer a line (repr):
  kstwo N D                   scipy.stats.kstwo.sf(D, N)
  ks A B                      D and p of scipy.stats.ks_2samp(a, b, method='asymp')
  psi REFERENCE LIVE BINS     the PSI of live against reference in the reference's bins
  categorical REFERENCE LIVE  the PSI over the categories either side has seen
A, B, REFERENCE and LIVE are paths: little-endian float64 values, or for categorical
one category a line.

The binning rule, as core/drift.hpp states it: edge k (k = 1 .. BINS - 1) is the sorted
reference's value at 0-based index floor(k * n / BINS); duplicate edges and edges equal
to the minimum are dropped; a value v falls in bin i, i the number of edges <= v. Each
share below 1e-4 counts as 1e-4, and shares are not renormalised.
"""
import sys
import warnings

import numpy as np
from scipy import stats

FLOOR = 1e-4


def psi(expected, actual):
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def shares(edges, values):
    bins = np.searchsorted(edges, values, side="right")
    return np.bincount(bins, minlength=len(edges) + 1) / len(values)


def numeric_psi(reference, live, bins):
    reference = np.sort(reference)
    n = len(reference)
    edges = np.unique(reference[(np.arange(1, bins) * n) // bins])
    edges = edges[edges > reference[0]]
    return psi(shares(edges, reference), shares(edges, live))


def categorical_psi(reference, live):
    categories = sorted(set(reference) | set(live))
    expected = [reference.count(c) / len(reference) for c in categories]
    actual = [live.count(c) / len(live) for c in categories]
    return psi(expected, actual)


def lines(path):
    with open(path) as f:
        return f.read().splitlines()


for line in sys.stdin:
    kind, *args = line.split()
    if kind == "kstwo":
        print(repr(float(stats.kstwo.sf(float(args[1]), int(args[0])))))
    elif kind == "ks":
        with warnings.catch_warnings():
            # One value on each side makes kstwo's n 0: SciPy warns, and answers NaN.
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(np.fromfile(args[0], dtype="<f8"), np.fromfile(args[1], dtype="<f8"),
                                    method="asymp")
        print(repr(float(result.statistic)), repr(float(result.pvalue)))
    elif kind == "psi":
        print(repr(numeric_psi(np.fromfile(args[0], dtype="<f8"), np.fromfile(args[1], dtype="<f8"), int(args[2]))))
    elif kind == "categorical":
        print(repr(categorical_psi(lines(args[0]), lines(args[1]))))
    sys.stdout.flush()
