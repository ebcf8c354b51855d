"""Reference intervals for tests/core/paired_bootstrap_test.cpp from SciPy.

One request a line on stdin: the path of a file of little-endian float64 pairs
(candidate, baseline per row), the resamples and the confidence. One answer a line:
the mean difference and SciPy's paired percentile bootstrap interval (repr).
"""
import sys

import numpy as np
from scipy import stats

for line in sys.stdin:
    path, resamples, confidence = line.split()
    pairs = np.fromfile(path, dtype="<f8").reshape(-1, 2)
    candidate, baseline = pairs[:, 0], pairs[:, 1]
    result = stats.bootstrap(
        (candidate, baseline),
        lambda c, b, axis: np.mean(c - b, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=int(resamples),
        confidence_level=float(confidence),
        method="percentile",
        random_state=np.random.default_rng(7),
    )
    interval = result.confidence_interval
    print(repr(float(np.mean(candidate - baseline))), repr(float(interval.low)), repr(float(interval.high)),
          repr(float(result.standard_error)))
    sys.stdout.flush()
