"""Stepwise discriminant analysis with its screens: a feature enters only if it separates the classes itself or
is correlated with the kept ones (a suppressor), so thousands of noise features do not crowd out weak
informative ones; when no such feature is left it falls back to every feature."""

from __future__ import annotations

import numpy as np

from bioLM.summarize import _stability, planted
from bioLM.summarize._stability import stepwise


def _standardized(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / X.std(0)


def _top(score: np.ndarray, k: int) -> set[int]:
    return set(np.argsort(-score, kind="stable")[:k].tolist())


def test_a_suppressor_without_class_signal_enters_before_noise():
    """Feature 0 = class + nuisance, feature 1 = nuisance alone (no class signal, correlated with feature 0):
    given feature 0, feature 1 removes part of the nuisance. 2,000 noise features compete for the second slot;
    over ten data sets."""
    screened, unscreened = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        n = 200
        y = np.repeat([0, 1], n // 2)
        nuisance = rng.normal(size=n)
        X = rng.normal(size=(n, 2002))
        X[:, 0] = 0.8 * (2 * y - 1) + 2.0 * nuisance + 0.5 * rng.normal(size=n)
        X[:, 1] = nuisance + 2.0 * rng.normal(size=n)
        Z = _standardized(X)
        screened.append(_top(stepwise(Z, y, 2), 2) == {0, 1})
        unscreened.append(1 in _top(stepwise(Z, y, 2, alpha=float(Z.shape[1])), 2))  # alpha / tests = 1: no screen
    assert np.mean(screened) >= 0.8
    assert np.mean(unscreened) <= 0.3  # without the screens a noise feature's chance fit usually wins the slot


def test_weak_informative_features_are_recovered_among_thousands_of_noise_features():
    """planted.linear: some informative features have no marginal class signal (they help through their
    correlation with the others); the screen keeps noise features with a chance F out of their way."""
    screened, unscreened = [], []
    for seed in range(3):
        X, y, truth = planted.linear(300, 2000, 10, seed)
        Z = _standardized(X)
        screened.append(len(_top(stepwise(Z, y, 10), 10) & set(truth)) / 10)
        unscreened.append(len(_top(stepwise(Z, y, 10, alpha=2000.0), 10) & set(truth)) / 10)
    assert np.mean(screened) >= 0.9
    assert np.mean(screened) > np.mean(unscreened) + 0.1


def test_every_slot_is_filled_when_nothing_passes_the_screens():
    rng = np.random.default_rng(1)
    X = _standardized(rng.normal(size=(100, 300)))
    y = np.repeat([0, 1], 50)
    score = stepwise(X, y, 5)
    assert (score > 0).sum() == 5


def test_the_pool_beyond_l1_pool_features_keeps_suppressors_with_a_low_f(monkeypatch):
    """Beyond ``L1_POOL`` features the joint criteria see the best by F and the features significantly correlated
    with the ``k`` best: the weak informative features of planted.linear rank far down by F but are in the pool,
    and next to no noise feature joins them."""
    monkeypatch.setattr(_stability, "L1_POOL", 200)
    missed_by_f, in_pool, extra = [], [], []
    for seed in range(3):
        X, y, truth = planted.linear(300, 2000, 10, seed)
        Z = _standardized(X)
        anova = _stability._anova(Z, y, y)
        best = set(np.argsort(-anova, kind="stable")[:200].tolist())
        pool = set(_stability.l1_pool(Z, anova, 10).tolist())
        missed_by_f.append(len(set(truth) - best))
        in_pool.append(len(set(truth) & pool))
        extra.append(len(pool - best - set(truth)))
    assert sum(missed_by_f) >= 6  # without the correlation part these would be out of the pool
    assert sum(in_pool) >= 29
    assert sum(extra) <= 3
