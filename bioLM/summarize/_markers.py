"""Class-balanced marker selection: every class gets its share of the ``k`` slots.

A global statistic (F, or a joint model's weights) is dominated by the classes that differ most from the
rest: at small ``k`` the markers of a small or subtle class are never reached. As an analyst ranks genes
per cell type (scanpy's ``rank_genes_groups``: one class against the rest), :func:`markers` computes, for
every class ``c``, the Welch t statistic of ``c`` against the other classes (up-regulated in ``c``: positive
t), and fills the ``k`` slots round-robin over the classes (class 0's best, class 1's best, ..., then each
class's second), skipping features already kept. A redundancy term (mRMR: relevance minus the mean
absolute correlation with the features already kept, relevance scaled to 1 for each class's best) stops
one class's correlated co-markers from taking all its slots.
"""

from __future__ import annotations

import numpy as np

REDUNDANCY_WEIGHT = 0.5


def one_vs_rest_t(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(C, p) Welch t of each class against the rest (positive: higher in the class), ``X`` (n, p)."""
    n_classes = int(codes.max()) + 1
    out = np.zeros((n_classes, X.shape[1]))
    for c in range(n_classes):
        inside = codes == c
        a, b = X[inside], X[~inside]
        if len(a) < 2 or len(b) < 2:
            continue
        noise = a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b)
        out[c] = (a.mean(axis=0) - b.mean(axis=0)) / np.sqrt(noise + 1e-12)
    return out


def markers(X: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Score (higher = earlier), (p,): ``k`` features chosen round-robin over the classes, each the best
    up-regulated marker of its class after the redundancy penalty; ``X`` (n, p) standardized."""
    n, p = X.shape
    relevance = one_vs_rest_t(X, codes)
    relevance /= np.maximum(relevance.max(axis=1, keepdims=True), 1e-12)  # each class's best marker = 1
    redundancy = np.zeros(p)  # sum over kept features of |corr|
    score = np.zeros(p)
    taken = np.zeros(p, dtype=bool)
    k = min(k, p)
    step = 0
    while step < k:
        for c in range(len(relevance)):
            if step == k:
                break
            value = relevance[c] - REDUNDANCY_WEIGHT * redundancy / max(step, 1)
            value[taken] = -np.inf
            j = int(np.argmax(value))
            taken[j] = True
            score[j] = p - step
            redundancy += np.abs(X[:, j] @ X) / n
            step += 1
    return score
