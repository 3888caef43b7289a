"""The group-sparse multinomial logistic criterion: evidence summed over classes, screening that never changes
the path, and where the head uses it."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.summarize import ExtractiveSummarizer, _group, planted
from bioLM.summarize._group import group_lasso


def _standardized(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / X.std(0)


def test_a_feature_that_helps_every_class_enters_before_one_that_helps_one_class():
    """Feature 0 splits four classes in halves (1, 1, -1, -1), feature 1 marks class 0 alone (1.6, 0, 0, 0):
    one-vs-rest, feature 1 separates its class best, but summed over the classes feature 0 is stronger."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 150)
    X = rng.normal(size=(600, 30))
    X[:, 0] += np.array([1.0, 1.0, -1.0, -1.0])[y]
    X[:, 1] += np.array([1.6, 0.0, 0.0, 0.0])[y]
    Z = _standardized(X)
    one_vs_rest = [max(abs(Z[y == c, j].mean() - Z[y != c, j].mean()) for c in range(4)) for j in (0, 1)]
    assert one_vs_rest[1] > one_vs_rest[0]
    score = group_lasso(Z, y, 2)
    assert score[0] > score[1] > np.delete(score, [0, 1]).max()


def test_screening_does_not_change_the_path(monkeypatch):
    X, y, _ = planted.linear(300, 400, 8, seed=1)
    Z = _standardized(X)
    screened = group_lasso(Z, y, 12)
    monkeypatch.setattr(_group, "SCREEN", False)
    np.testing.assert_allclose(group_lasso(Z, y, 12), screened, atol=1e-4)


def test_planted_linear_signal_enters_first():
    X, y, truth = planted.linear(600, 200, 8, seed=0)
    top = np.argsort(-group_lasso(_standardized(X), y, 8), kind="stable")[:8]
    assert len(set(top) & set(truth)) >= 7


@pytest.mark.parametrize(("n_classes", "tried"), [(3, True), (2, False)])
def test_the_head_tries_group_with_three_or_more_classes_and_starts_from_it(n_classes, tried):
    X, y, _ = planted.linear(240, 60, 6, seed=0)
    if n_classes == 2:
        y = (y == 0).astype(int)
    head = ExtractiveSummarizer(k=6, random_state=0).fit(X, y)
    assert any(key.startswith("group@") for key in head.cv_scores_) is tried
    assert next(iter(head.cv_scores_)).split("@")[0] == ("group" if tried else "l1")  # the default, first


@pytest.mark.parametrize(("y_kind", "asked", "used"), [("binary", ("group", "l1"), "l1"),
                                                       ("regression", ("markers",), "anova")])
def test_asked_criteria_that_do_not_apply_are_named_in_a_warning(y_kind, asked, used):
    X, y, _ = planted.linear(120, 20, 4, seed=0)
    y = (y == 0).astype(int) if y_kind == "binary" else y.astype(float)
    task = "regression" if y_kind == "regression" else "auto"
    with pytest.warns(UserWarning, match=f"criteria \\['{asked[0]}'\\] do not apply"):
        head = ExtractiveSummarizer(k=3, criteria=asked, task=task, random_state=0).fit(X, y)
    assert head.criterion_ == used
