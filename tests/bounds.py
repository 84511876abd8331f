"""Statistical bounds for planted-signal tests: thresholds that hold by construction.

A planted-signal test asserts a claim about a rate ("the adapter's replies carry its
markers more often than anyone else's", "the base sends an email in at least 80% of
rollouts"). Comparing one observed rate with a fixed number fails now and then on a
machine whose floating point differs a little; these tests instead fail only when the
data *contradict* the claim at a small error rate (ALPHA), and the sample sizes are
chosen so that a real signal of the size the toy world plants passes with room to spare
(each test's docstring gives the margin seen).
"""

from __future__ import annotations

import json
import math
import os

from scipy.stats import beta, fisher_exact

# Per assertion: the chance that a true claim fails. Tests make a few dozen assertions.
ALPHA = 1e-4


def upper_bound(k: int, n: int, alpha: float = ALPHA) -> float:
    """One-sided (1 - alpha) Clopper-Pearson upper bound of a rate seen k times in n."""
    return 1.0 if k >= n else float(beta.ppf(1 - alpha, k + 1, n - k))


def lower_bound(k: int, n: int, alpha: float = ALPHA) -> float:
    """One-sided (1 - alpha) Clopper-Pearson lower bound of a rate seen k times in n."""
    return 0.0 if k <= 0 else float(beta.ppf(alpha, k, n - k + 1))


def p_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact p-value that rate 1 (k1 of n1) exceeds rate 2 (k2 of n2)."""
    return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="greater")[1])


def log10p(p: float) -> float:
    """-log10 of a p-value: how many orders of magnitude below 1 it is (capped for p=0)."""
    return -math.log10(max(p, 1e-300))


def record(test: str, what: str, value: float, limit: float, higher_is_better: bool) -> None:
    """Note how far a statistic is from its limit (printed; appended as a JSON line to
    $CHARPROBE_MARGINS when set), so margins can be compared across machines and roots."""
    margin = value - limit if higher_is_better else limit - value
    line = {"test": test, "what": what, "value": value, "limit": limit, "margin": margin}
    print(f"margin {test} {what}: {value:.4g} vs {limit:.4g} (margin {margin:.4g})")
    path = os.environ.get("CHARPROBE_MARGINS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
