"""Small statistics the comparison and sample-efficiency stages share (below both)."""

from __future__ import annotations


def t95(n: int) -> float:
    """Two-sided 95% Student-t quantile with n-1 degrees of freedom (NaN below 2 seeds)."""
    if n < 2:
        return float("nan")
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1))
