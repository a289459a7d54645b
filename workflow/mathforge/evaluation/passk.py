"""pass@k with the unbiased estimator of Chen et al. (2021): from n attempts of which c succeed,
pass@k = 1 - C(n-c, k) / C(n, k), the chance that k attempts drawn without replacement include
a success. Exact integer arithmetic (no float overflow for large n)."""

from __future__ import annotations

from fractions import Fraction
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return float(1 - Fraction(comb(n - c, k), comb(n, k)))


def mean_pass_at_k(counts: list[tuple[int, int]], k: int) -> float:
    """The benchmark score: the mean of pass@k over problems, each given as (n, c)."""
    if not counts:
        return 0.0
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def table_ks(n: int) -> list[int]:
    """The k columns of a table: powers of two below n, and n."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return [*ks, n]
