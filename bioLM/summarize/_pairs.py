"""Interaction screening: features ranked by how well their pairwise products separate the classes.

F, L1 and a linear consumer see each feature's own (marginal or conditional) linear effect; a class set by
an interaction such as ``y = 1[x0 * x1 > 0]`` (XOR) leaves every one of them at chance, and tree importance
finds such a pair only sometimes on a few hundred samples. :func:`pairs` screens the ``POOL`` features the
extremely randomized trees rank highest (trees see interactions, noisily), forms every product
``x_i * x_j`` of two of them (standardized features), scores each product by its F against the classes, and
orders features by their best product: the two features of the best pair first, then the new ones of the
next pair, until ``k`` are kept; the rest follow in tree order. The held-out folds decide whether the
interaction candidate beats the others (a 15-nearest-neighbour score credits an interaction pair there).
Cost: ``POOL (POOL - 1) / 2`` products of ``n`` samples (1,770 at ``POOL = 60``).
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_selection import f_classif

POOL = 60
"""Features (by tree importance) whose pairwise products are screened."""


def pairs(X: np.ndarray, codes: np.ndarray, k: int, trees: np.ndarray) -> np.ndarray:
    """Score (higher = earlier), (p,): features of the best-separating products first (pair by pair), then
    the rest by ``trees`` (tree importance, (p,)); ``X`` (n, p) standardized, ``codes`` (n,) classes 0..C-1."""
    p = X.shape[1]
    pool = np.argsort(-trees, kind="stable")[:min(POOL, p)]
    first, second = np.triu_indices(len(pool), 1)
    score = trees / (trees.max() or 1.0)  # in [0, 1]: below every feature of a kept pair
    if not len(first):
        return score
    products = X[:, pool[first]] * X[:, pool[second]]
    with np.errstate(divide="ignore", invalid="ignore"):
        separation = np.nan_to_num(f_classif(products, codes)[0], nan=0.0)
    kept: list[int] = []
    for t in np.argsort(-separation, kind="stable"):
        for j in (pool[first[t]], pool[second[t]]):
            if j not in kept:
                kept.append(int(j))
        if len(kept) >= k:
            break
    score[kept] = 2.0 + np.arange(len(kept))[::-1]
    return score
