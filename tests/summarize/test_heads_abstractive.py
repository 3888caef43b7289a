"""The abstractive head: at least as good as PLS / PCA where they apply, better where they miss; blocks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from bioLM.summarize import AbstractiveSummarizer, planted


def _split(X, y):
    return train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)


def _pls_accuracy(X_train, X_test, y_train, y_test, d: int) -> float:
    onehot = (y_train[:, None] == np.unique(y_train)).astype(float)
    pls = PLSRegression(d).fit(X_train, onehot)
    return LogisticRegression().fit(pls.transform(X_train), y_train).score(pls.transform(X_test), y_test)


def test_linear_task_no_worse_than_pls_or_pca():
    X_train, X_test, y_train, y_test = _split(*planted.linear(400, 40, 5, seed=0)[:2])
    head = make_pipeline(AbstractiveSummarizer(n_components=2, random_state=0), LogisticRegression())
    ours = head.fit(X_train, y_train).score(X_test, y_test)
    pca = make_pipeline(PCA(2), LogisticRegression()).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= max(pca, _pls_accuracy(X_train, X_test, y_train, y_test, 2)) - 0.03
    assert head[0].method_ in head[0].cv_scores_


def test_more_features_than_samples_works_in_the_sample_span():
    X, y, _ = planted.linear(80, 600, 5, seed=2)
    head = AbstractiveSummarizer(n_components=3, random_state=0).fit(X, y)
    assert head.basis_.shape == (600, 79) or head.basis_.shape[1] <= 80
    Z = head.transform(X[:7])
    assert Z.shape == (7, 3) and np.isfinite(Z).all()


def test_signal_split_across_two_blocks():
    blocks, y, _ = planted.two_blocks(300, 5, 8, seed=0)
    train, test = np.arange(150), np.arange(150, 300)
    head = AbstractiveSummarizer(n_components=2, random_state=0)
    head.fit({b: v[train] for b, v in blocks.items()}, y[train])
    Z_train = head.transform({b: v[train] for b, v in blocks.items()})
    Z_test = head.transform({b: v[test] for b, v in blocks.items()})
    together = LogisticRegression().fit(Z_train, y[train]).score(Z_test, y[test])
    alone = [LogisticRegression().fit(v[train], y[train]).score(v[test], y[test]) for v in blocks.values()]
    assert together >= 0.85 and max(alone) <= 0.65, (together, alone)
    assert list(head.block_names_) == ["rna", "methylation"]


def test_unsupervised_is_pca_and_sequences_still_work():
    X, _, _ = planted.linear(200, 12, 3, seed=1)
    head = AbstractiveSummarizer(n_components=3).fit(X)
    assert head.method_ == "pca"
    reference = PCA(3).fit_transform(X)  # the centred, unscaled features, as an analyst runs it
    np.testing.assert_allclose(np.abs(head.transform(X)), np.abs(reference), atol=1e-8)
    rng = np.random.default_rng(0)
    ragged = [rng.normal(size=(n, 6)) for n in (5, 9, 3, 7)]
    seq_head = AbstractiveSummarizer(n_components=2, max_epochs=5, random_state=0).fit(ragged, [0, 1, 0, 1])
    assert seq_head.transform(ragged).shape == (4, 2)
    assert seq_head.transform_latents(ragged[:2]).shape == (2, 2, 16)
    # padding does not change a sequence's summary
    np.testing.assert_allclose(seq_head.transform(ragged[:1]), seq_head.transform(ragged)[:1])
    with pytest.raises(ValueError, match="width 5 do not match"):
        seq_head.transform([rng.normal(size=(4, 5))])


def test_quadratic_correction_adds_what_linear_reducers_miss():
    X_train, X_test, y_train, y_test = _split(*planted.xor(600, 20, seed=0)[:2])
    head = make_pipeline(AbstractiveSummarizer(n_components=2, random_state=0), LogisticRegression())
    ours = head.fit(X_train, y_train).score(X_test, y_test)
    assert head[0].method_.endswith("+quad")
    assert ours >= 0.65 and ours >= _pls_accuracy(X_train, X_test, y_train, y_test, 2) + 0.1
