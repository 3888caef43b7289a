"""Samples x features tasks with planted signal (known truth), for the heads' tests and benchmarks.

Every generator returns ``(X (n, p) float64, y (n,) int, truth)``; ``truth`` lists the informative feature
indices, or for :func:`redundant` the group (list of indices) of each planted signal. Deterministic in ``seed``.

- :func:`linear`: ``make_classification`` (3 classes, informative features first, the rest noise);
- :func:`xor`: the class is the sign of ``x0 * x1`` (no marginal effect: univariate and linear methods see
  nothing), plus noise features;
- :func:`redundant`: a few latent signals of decreasing strength, each measured by several correlated
  noisy copies; the rest noise (a selector that keeps copies of the strongest signal misses the others);
- :func:`two_blocks`: two feature blocks where the class is ``sign(a - b)`` with ``a`` in block 1 and ``b`` in
  block 2 sharing a large nuisance: each block alone is near chance, together they separate the classes.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification


def linear(n: int, p: int, n_informative: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """3 classes linear in the first ``n_informative`` features."""
    X, y = make_classification(n_samples=n, n_features=p, n_informative=n_informative, n_redundant=0,
                               n_repeated=0, n_classes=3, n_clusters_per_class=1, class_sep=0.8,
                               flip_y=0.02, shuffle=False, random_state=seed)
    return X, y, list(range(n_informative))


def xor(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """y = 1[x0 * x1 > 0] (5% labels flipped); features 2.. are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    flip = rng.random(n) < 0.05
    return X, np.where(flip, 1 - y, y), [0, 1]


def redundant(n: int, p: int, n_signals: int, copies: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Signal ``g`` (weight ``1 / (g + 1)``) measured by ``copies`` features (correlation ~0.9 with it);
    y = 1[sum_g z_g / (g + 1) + noise > 0]."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, n_signals))
    score = z @ (1.0 / np.arange(1, n_signals + 1)) + 0.3 * rng.normal(size=n)
    X = rng.normal(size=(n, p))
    groups = []
    for g in range(n_signals):
        columns = list(range(g * copies, (g + 1) * copies))
        X[:, columns] = z[:, [g]] + 0.45 * rng.normal(size=(n, copies))
        groups.append(columns)
    return X, (score > 0).astype(int), groups


def two_blocks(n: int, p1: int, p2: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, list[tuple]]:
    """Blocks ``{"rna": (n, p1), "methylation": (n, p2)}``; truth ``[("rna", 0), ("methylation", 0)]``."""
    rng = np.random.default_rng(seed)
    signal, nuisance = rng.normal(size=n), 3.0 * rng.normal(size=n)
    rna = rng.normal(size=(n, p1))
    methylation = rng.normal(size=(n, p2))
    rna[:, 0] = signal + nuisance + 0.2 * rng.normal(size=n)
    methylation[:, 0] = nuisance + 0.2 * rng.normal(size=n)
    return {"rna": rna, "methylation": methylation}, (signal > 0).astype(int), [("rna", 0), ("methylation", 0)]
