"""Class-balanced markers (extractive) and screened reducers (abstractive): what global criteria miss."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_selection import SelectKBest, f_classif

from bioLM.summarize import AbstractiveSummarizer, ExtractiveSummarizer, planted
from bioLM.summarize._markers import markers, one_vs_rest_t
from bioLM.summarize._reduce import candidates


def weak_class_task(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """4 classes of 100; classes 0-2 each raise 4 features strongly (shift 2.5), class 3 raises 2 features
    weakly (shift 1.0); 40 noise features. Returns (X (400, 54), y, marker indices of each class)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 100)
    X = rng.normal(size=(400, 54))
    groups = [list(range(4 * c, 4 * c + 4)) for c in range(3)] + [[12, 13]]
    for c, group in enumerate(groups):
        X[np.ix_(y == c, group)] += 2.5 if c < 3 else 1.0
    return X, y, groups


def test_one_vs_rest_t_is_positive_for_the_class_that_raises_a_feature():
    X, y, groups = weak_class_task()
    t = one_vs_rest_t(X, y)
    assert t.shape == (4, 54)
    for c, group in enumerate(groups):
        assert np.all(t[c, group] > 3) and np.all(t[c, 40:] < 4)


def test_round_robin_covers_the_weak_class_that_global_f_misses():
    X, y, groups = weak_class_task()
    Xs = (X - X.mean(0)) / X.std(0)
    order = np.argsort(-markers(Xs, y, 4), kind="stable")[:4]
    assert [sum(j in g for j in order) for g in groups] == [1, 1, 1, 1]  # one marker for every class
    for k in (4, 8):
        anova = set(np.flatnonzero(SelectKBest(f_classif, k=k).fit(X, y).get_support()))
        assert not anova & set(groups[3])  # F fills the slots with the strong classes' markers
    head = ExtractiveSummarizer(k=4, criteria=("markers",), n_repeats=1, random_state=0).fit(X, y)
    kept = set(np.flatnonzero(head.get_support()))
    assert all(kept & set(g) for g in groups)
    assert head.criterion_ == "markers" and set(head.cv_scores_) == {"markers@1"}


def test_markers_see_every_feature_beyond_the_pool_of_the_joint_criteria(monkeypatch):
    from bioLM.summarize import _stability

    X, y, groups = weak_class_task()
    monkeypatch.setattr(_stability, "L1_POOL", 10)  # stepwise / L1 see the 10 best by F (and their correlates)
    assert not set(np.argsort(-f_classif(X, y)[0], kind="stable")[:10]) & set(groups[3])  # the strong markers
    head = ExtractiveSummarizer(k=4, criteria=("markers",), n_repeats=1, random_state=0).fit(X, y)
    assert set(np.flatnonzero(head.get_support())) & set(groups[3])


def test_markers_are_tried_without_the_correlation_cut_off_and_not_for_regression():
    X, y, _ = weak_class_task()
    head = ExtractiveSummarizer(k=4, n_repeats=1, criteria=("anova", "markers"), random_state=0).fit(X, y)
    assert set(head.cv_scores_) == {"anova@1", "anova@0.9", "anova@0.7", "markers@1"}
    regression = ExtractiveSummarizer(k=2, n_repeats=1, criteria=("markers",), random_state=0)
    with pytest.warns(UserWarning, match="criteria \\['markers'\\] do not apply to regression"):
        regression.fit(X[:, :6], X[:, 0] + X[:, 1] + 0.1 * X[:, 7])
    assert regression.criterion_ == "anova"
    assert set(np.flatnonzero(regression.get_support())) == {0, 1}


def test_screened_reducer_finds_few_signals_among_many_features():
    X, y, _ = planted.linear(240, 600, 6, seed=3)
    names = candidates(True, 3, 4, 600)
    assert {"pls|20", "lda@0.5|20", "pls|80", "lda@0.5|80"} <= set(names)
    assert "pls|20" not in candidates(True, 3, 4, 20)
    head = AbstractiveSummarizer(n_components=4, random_state=0).fit(X, y)
    assert "|" in head.method_, head.cv_scores_  # the screened candidates beat PLS / PCA on all 600
    assert max(v for n, v in head.cv_scores_.items() if "|" in n) > max(head.cv_scores_["pls"],
                                                                     head.cv_scores_["pca"]) + 0.1
    assert head.transform(X[:5]).shape == (5, 4)


def test_l1_criterion_does_not_read_the_global_random_state():
    """liblinear shuffles its coordinates; with the global RNG the selection changed from run to run."""
    from bioLM.summarize._stability import _l1, l1_strength

    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(300, 5)), 8, axis=1) + 0.3 * rng.normal(size=(300, 40))
    codes = rng.integers(0, 5, 300)
    X[:, :8] += codes[:, None] * 0.3
    X = (X - X.mean(0)) / X.std(0)
    strength = l1_strength(X, codes, codes, 5)
    scores = []
    for seed in (1, 2):
        np.random.seed(seed)
        scores.append(_l1(X, codes, codes, strength))
    np.testing.assert_array_equal(scores[0], scores[1])
