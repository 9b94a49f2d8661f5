"""Modelled probe lengths (Knuth, TAOCP vol. 3, 6.4): computed, never measured, always labelled so.

Uniform hashing gets full distributions (the reports draw them as "modelled" curves); linear
probing and secondary clustering get the means `mapbench probe` prints beside measured ones.

With load factor a, an unsuccessful search needs k probes with probability a^(k-1) * (1 - a);
a successful search repeats the unsuccessful search its key's insertion made at the load b it
saw, b uniform on [0, a]: P(k) = (a^k / k - a^(k+1) / (k+1)) / a. CPython's dict follows this
model within about 0.5% (MEASUREMENT.md); linear probing has longer tails than it.
"""

from __future__ import annotations

import math


def models(probe_unit: str) -> bool:
    """Whether the model applies: it counts slots, not buckets or groups of slots."""
    return not probe_unit.startswith(("bucket", "group"))


def miss_probabilities(load: float, longest: int) -> list[float]:
    """P(probe length = k) for k = 0..longest of an unsuccessful search (k = 0 impossible)."""
    _check(load)
    return [0.0] + [load ** (k - 1) * (1 - load) for k in range(1, longest + 1)]


def hit_probabilities(load: float, longest: int) -> list[float]:
    """P(probe length = k) for k = 0..longest of a successful search."""
    _check(load)
    if load == 0:
        return [0.0, 1.0] + [0.0] * (longest - 1)
    return [0.0] + [(load**k / k - load ** (k + 1) / (k + 1)) / load for k in range(1, longest + 1)]


def _check(load: float) -> None:
    if not 0 <= load < 1:
        raise ValueError(f"load factor {load} outside [0, 1)")


def hit_mean(load: float) -> float:
    """Expected probes of a successful search: (1/a) ln(1/(1-a)); 1 for an empty table."""
    _check(load)
    return 1.0 if load == 0 else math.log(1 / (1 - load)) / load


def miss_mean(load: float) -> float:
    """Expected probes of an unsuccessful search: 1/(1-a)."""
    _check(load)
    return 1 / (1 - load)


def uniform_means(load: float) -> tuple[float, float]:
    """(hit, miss) expected probes under uniform hashing, which double hashing approximates."""
    return hit_mean(load), miss_mean(load)


def linear_means(load: float) -> tuple[float, float]:
    """(hit, miss) expected probes of linear probing: (1 + 1/(1-a))/2, (1 + 1/(1-a)^2)/2."""
    _check(load)
    return 0.5 * (1 + 1 / (1 - load)), 0.5 * (1 + 1 / (1 - load) ** 2)


def secondary_clustering_means(load: float) -> tuple[float, float]:
    """(hit, miss) expected probes with secondary clustering (approximates quadratic probing)."""
    _check(load)
    return (
        1 - math.log(1 - load) - load / 2,
        1 / (1 - load) - load - math.log(1 - load),
    )
