"""Evidence that the abstractive head reduces dimensions usefully: vs PCA on non-linear and linear tasks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from bioLM.heads import AbstractiveSummarizer
from bioLM.heads.evidence import linear_task, shell_task


def _accuracies(X: np.ndarray, y: np.ndarray, m: int) -> tuple[float, float]:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    pca = make_pipeline(PCA(m), LogisticRegression()).fit(X_train, y_train).score(X_test, y_test)
    head = AbstractiveSummarizer(n_components=m, max_epochs=30, random_state=0)
    ours = make_pipeline(head, LogisticRegression()).fit(X_train, y_train).score(X_test, y_test)
    return ours, pca


def test_beats_pca_where_variance_is_noise():
    ours, pca = _accuracies(*shell_task(400, 10, seed=0), m=2)
    assert pca < 0.65  # PCA keeps the high-variance noise features
    assert ours >= 0.9 and ours >= pca + 0.25


def test_no_worse_than_pca_on_a_linear_task():
    ours, pca = _accuracies(*linear_task(400, 20, seed=0), m=2)
    assert pca > 0.75
    assert ours >= pca - 0.03


def test_unsupervised_reconstruction_and_sequences():
    X, _ = linear_task(200, 12, seed=1)
    head = AbstractiveSummarizer(n_components=3, n_latents=2, summary="pool", max_epochs=20,
                                 random_state=0).fit(X)
    assert head.loss_curve_[-1] < 0.8 * head.loss_curve_[0]
    assert head.transform(X).shape == (200, 3)
    assert head.transform_latents(X[:5]).shape == (5, 2, 16)
    rng = np.random.default_rng(0)
    ragged = [rng.normal(size=(n, 6)) for n in (5, 9, 3, 7)]
    seq_head = AbstractiveSummarizer(n_components=2, max_epochs=5, random_state=0).fit(ragged, [0, 1, 0, 1])
    assert seq_head.transform(ragged).shape == (4, 2)
    # padding does not change a sequence's summary
    np.testing.assert_allclose(seq_head.transform(ragged[:1]), seq_head.transform(ragged)[:1])
    with pytest.raises(ValueError, match="width 5 do not match"):
        seq_head.transform([rng.normal(size=(4, 5))])
