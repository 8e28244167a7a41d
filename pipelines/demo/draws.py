"""Scalar random draws for per-record Python loops, fetched from a numpy Generator in blocks.

A numpy call for one number costs about a microsecond; a ticket's lifecycle
needs a few dozen, and a year has a hundred thousand tickets. Taking numbers
from a pre-drawn list keeps the loops cheap and still fully seeded.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np


class Draws:
    def __init__(self, rng: np.random.Generator, block: int = 4096):
        self.rng = rng
        self.block = block
        self._uniform: list[float] = []
        self._normal: list[float] = []

    def random(self) -> float:
        if not self._uniform:
            self._uniform = self.rng.random(self.block).tolist()
        return self._uniform.pop()

    def normal(self) -> float:
        if not self._normal:
            self._normal = self.rng.standard_normal(self.block).tolist()
        return self._normal.pop()

    def integers(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.random() * (high - low))

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def exponential(self, scale: float) -> float:
        return -scale * math.log(1.0 - self.random())

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def skewed(self, a: float, b: float) -> float:
        """A value in (0, 1) shaped like Beta(a, b) (Kumaraswamy's closed form): b > a leans early."""
        return (1.0 - (1.0 - self.random()) ** (1.0 / b)) ** (1.0 / a)

    def poisson(self, lam: float) -> int:
        """Knuth's method: fine for the small means used here."""
        limit, k, product = math.exp(-lam), 0, self.random()
        while product > limit:
            k += 1
            product *= self.random()
        return k

    def pick(self, items: list | tuple):
        return items[int(self.random() * len(items))]

    def weighted(self, cumulative: list[float]) -> int:
        """An index drawn with the weights whose running total (ending at 1) is `cumulative`."""
        return min(bisect_right(cumulative, self.random() * cumulative[-1]), len(cumulative) - 1)


def cumulative(weights) -> list[float]:
    c = np.cumsum(np.asarray(weights, dtype=float))
    return (c / c[-1]).tolist()
