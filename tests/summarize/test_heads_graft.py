"""Grafting (forward selection on the consumer's logistic loss): redundancy and every class, jointly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_selection import SelectKBest, f_classif

from bioLM.summarize import ExtractiveSummarizer, planted
from bioLM.summarize._graft import graft


def _standardized(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / X.std(0)


def _top(score: np.ndarray, k: int) -> set[int]:
    return {int(j) for j in np.argsort(-score, kind="stable")[:k]}


def test_graft_covers_every_planted_signal_where_f_keeps_copies_of_the_strongest():
    X, y, groups = planted.redundant(400, 40, n_signals=3, copies=4, seed=0)
    kept = _top(graft(_standardized(X), y, 3), 3)
    anova = set(np.flatnonzero(SelectKBest(f_classif, k=3).fit(X, y).get_support()))
    covered = [sum(bool(s & set(g)) for g in groups) for s in (kept, anova)]
    assert covered[0] == 3 > covered[1]


def test_graft_serves_the_class_still_badly_fitted():
    """Classes 0 and 1 differ in two copies of one strong feature, class 2 in a weaker feature of its own:
    after the first copy, the copy adds nothing and the weak class's feature comes next."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    strong = np.where(y == 0, -2.0, np.where(y == 1, 2.0, 0.0)) + rng.normal(size=300)
    X = rng.normal(size=(300, 20))
    X[:, 0] = strong
    X[:, 1] = strong + 0.1 * rng.normal(size=300)  # a copy
    X[:, 2] += 1.2 * (y == 2)  # the weak class's feature
    order = np.argsort(-graft(_standardized(X), y, 2), kind="stable")[:2]
    assert set(order) & {0, 1} and 2 in order
    assert set(np.argsort(-f_classif(X, y)[0])[:2]) == {0, 1}  # F keeps the copy


def test_graft_scores_only_k_features_in_pick_order_and_is_deterministic():
    X, y, truth = planted.linear(200, 30, 4, seed=1)
    Xs = _standardized(X)
    score = graft(Xs, y, 5)
    assert np.count_nonzero(score) == 5 and sorted(score[score > 0]) == [26, 27, 28, 29, 30]
    np.testing.assert_array_equal(score, graft(Xs, y, 5))
    assert graft(Xs, y, 5, balanced=True).shape == (30,)


def test_graft_criterion_in_the_head_is_deterministic_and_ordered_by_stability():
    X, y, groups = planted.redundant(300, 30, n_signals=3, copies=3, seed=2)
    heads = [ExtractiveSummarizer(k=3, criteria=("graft",), n_repeats=1, random_state=0).fit(X, y)
             for _ in range(2)]
    np.testing.assert_array_equal(heads[0].ranking_, heads[1].ranking_)
    head = heads[0]
    assert head.criterion_ == "graft" and set(head.cv_scores_) == {"graft@1"}
    kept = head.ranking_[:3]
    assert sum(bool(set(kept) & set(g)) for g in groups) == 3
    assert head.scores_[kept].min() >= np.delete(head.scores_, kept).max()  # the most stable come first


def test_graft_is_opt_in_and_for_classes_only():
    X, y, _ = planted.linear(120, 12, 3, seed=3)
    auto = ExtractiveSummarizer(k=3, n_repeats=1, random_state=0).fit(X, y)
    assert not any(name.startswith("graft") for name in auto.cv_scores_)
    regression = ExtractiveSummarizer(k=2, n_repeats=1, criteria=("graft",), random_state=0)
    with pytest.warns(UserWarning, match="criteria \\['graft'\\] do not apply to regression"):
        regression.fit(X[:, :6], X[:, 0] + X[:, 1] + 0.1 * X[:, 7])
    assert regression.criterion_ == "anova" and set(np.flatnonzero(regression.get_support())) == {0, 1}
