"""Both heads inside a Pipeline with LogisticRegression and under GridSearchCV; input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from bioLM.errors import ConfigError, InputFormatError
from bioLM.summarize import AbstractiveSummarizer, ExtractiveSummarizer


@pytest.fixture
def task() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=120, n_features=8, n_informative=3, n_redundant=0,
                               shuffle=False, random_state=0)


@pytest.mark.parametrize("head", [ExtractiveSummarizer(k=3, n_repeats=1, random_state=0),
                                  AbstractiveSummarizer(n_components=3, n_folds=2, random_state=0)])
def test_pipeline_and_grid_search(task, head):
    X, y = task
    pipe = Pipeline([("head", head), ("clf", LogisticRegression())])
    assert pipe.fit(X, y).predict(X).shape == (120,)
    assert pipe.score(X, y) > 0.65  # chance is 0.5; the selection itself is tested in test_heads_extractive.py
    grid = {"head__k": [2, 4]} if isinstance(head, ExtractiveSummarizer) else {"head__n_components": [2, 4]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_.named_steps["head"].transform(X).shape[1] in (2, 4)


def test_nan_error_names_the_column(task):
    X, y = task
    frame = pd.DataFrame(X, columns=[f"gene_{j}" for j in range(X.shape[1])])
    frame.iloc[5, 4] = np.nan
    for head in (ExtractiveSummarizer(k=2), AbstractiveSummarizer()):
        with pytest.raises(InputFormatError, match=r"column 4 \('gene_4'\) contains NaN .*row 5"):
            head.fit(frame, y)
    X = X.copy()
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match="column 2 contains inf"):
        ExtractiveSummarizer(k=2).fit(X, y)


def test_feature_names_out_are_the_selected_columns(task):
    X, y = task
    frame = pd.DataFrame(X, columns=[f"gene_{j}" for j in range(X.shape[1])])
    selector = ExtractiveSummarizer(k=3, n_repeats=1, random_state=0).fit(frame, y)
    names = list(selector.get_feature_names_out())
    assert names == [f"gene_{j}" for j in np.flatnonzero(selector.get_support())]
    assert len(names) == 3
    reducer = AbstractiveSummarizer(n_components=2, max_epochs=5, random_state=0).fit(frame, y)
    assert list(reducer.get_feature_names_out()) == ["abstractivesummarizer0", "abstractivesummarizer1"]


def test_bad_parameters_and_k_larger_than_features(task):
    X, y = task
    with pytest.raises(ConfigError, match="k=0 is not valid"):
        ExtractiveSummarizer(k=0).fit(X, y)
    with pytest.raises(ConfigError, match="n_jobs=0 is not valid"):
        ExtractiveSummarizer(k=2, n_jobs=0).fit(X, y)
    with pytest.raises(ConfigError, match="summary='sum' is not valid"):
        AbstractiveSummarizer(summary="sum").fit(X)
    with pytest.warns(UserWarning, match="k=50 is greater than n_features=8"):
        support = ExtractiveSummarizer(k=50, max_epochs=2).fit(X, y).get_support()
    assert support.all()


def test_same_seed_same_model(task):
    X, y = task
    a = ExtractiveSummarizer(k=3, n_repeats=1, random_state=3).fit(X, y)
    b = ExtractiveSummarizer(k=3, n_repeats=1, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.scores_, b.scores_)
    np.testing.assert_array_equal(a.ranking_, b.ranking_)
    c = AbstractiveSummarizer(random_state=3).fit(X, y)
    d = AbstractiveSummarizer(random_state=3).fit(X, y)
    np.testing.assert_array_equal(c.transform(X), d.transform(X))


def test_pipeline_on_ragged_sequence_embeddings():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    # class 1 sequences hold one token with a large first coordinate
    sequences = [rng.normal(size=(int(rng.integers(5, 12)), 4)) for _ in y]
    for x, label in zip(sequences, y):
        if label:
            x[int(rng.integers(len(x))), 0] += 4.0
    for head in (ExtractiveSummarizer(k=1, random_state=0), AbstractiveSummarizer(n_components=2,
                                                                                random_state=0)):
        pipe = Pipeline([("head", head), ("clf", LogisticRegression())]).fit(sequences, y)
        assert pipe.score(sequences, y) >= 0.9, type(head).__name__
    with pytest.raises(InputFormatError, match=r"sequence 1 has embeddings of shape \(4,\)"):
        pipe.predict([sequences[0], np.zeros(4)])


def test_regression_targets():
    X, y = make_regression(n_samples=200, n_features=10, n_informative=3, noise=1.0, shuffle=False,
                           random_state=0)
    selector = ExtractiveSummarizer(k=3, n_repeats=1, random_state=0).fit(X, y)
    assert selector.get_support()[:3].all()
    assert all("@" in name for name in selector.cv_scores_)  # held-out R² per candidate
    reducer = AbstractiveSummarizer(n_components=2, random_state=0).fit(X, y)
    assert not reducer.method_.startswith("lda")  # discriminants need classes
    Z = reducer.transform(X)
    assert LinearRegression().fit(Z, y).score(Z, y) > 0.95
