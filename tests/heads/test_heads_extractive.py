"""Evidence that the extractive head finds what matters: planted motifs and informative features."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from bioLM.errors import InputFormatError
from bioLM.heads import ExtractiveSummarizer
from bioLM.heads.evidence import informative_recall, motif_hit_rate, motif_task, omics_task

MOTIF = "TTGACA"


@pytest.fixture(scope="module")
def motif_head() -> tuple[ExtractiveSummarizer, tuple]:
    X, y, _, _, _ = motif_task(200, 50, MOTIF, k=6, seed=0)
    head = ExtractiveSummarizer(k=1, max_epochs=20, random_state=0).fit(X, y)
    return head, motif_task(100, 50, MOTIF, k=6, seed=1)


def test_selected_positions_hit_the_planted_motif(motif_head):
    head, (X, y, starts, sequences, offsets) = motif_head
    selected = head.selected_items(X, offsets=offsets, sequences=sequences)
    assert motif_hit_rate(selected, starts, len(MOTIF)) >= 0.9
    texts = [items[0].text for items, label in zip(selected, y) if label == 1]
    assert np.mean([t == MOTIF for t in texts]) >= 0.8  # the k-mer under the top token is the motif
    first = selected[1][0]
    assert (first.end - first.start, len(first.text)) == (6, 6)


def test_sequence_outputs_and_variable_lengths(motif_head):
    head, (X, y, starts, _, _) = motif_head
    scores = head.score_items(X[:4])
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    assert head.transform(X[:4]).shape == (4, X.shape[2])  # mean embedding of the selected tokens
    # a ragged list gives the same answers as the padded array with a mask
    ragged = [X[0], X[1, :30], X[2, :17]]
    padded = np.zeros((3, X.shape[1], X.shape[2]))
    mask = np.zeros((3, X.shape[1]), dtype=bool)
    for i, a in enumerate(ragged):
        padded[i, :len(a)], mask[i, :len(a)] = a, True
    np.testing.assert_allclose(head.transform(ragged), head.transform(padded, mask=mask))
    positions = head.selected_positions(ragged)
    assert all(p.max() < len(a) for p, a in zip(positions, ragged))
    assert np.isnan(head.score_items(ragged)[2, 17:]).all()
    with pytest.raises(ValueError, match="fitted on sequences"):
        head.get_support()
    with pytest.raises(InputFormatError, match="sequence 1, token 3 holds NaN"):
        bad = X[:2].copy()
        bad[1, 3, 0] = np.nan
        head.transform(bad)


def test_threshold_keeps_only_confident_tokens(motif_head):
    head, (X, y, _, _, _) = motif_head
    try:
        kept = [len(p) > 0 for p in head.set_params(threshold=0.7).selected_positions(X)]
    finally:
        head.set_params(threshold=None)
    kept = np.array(kept)
    assert kept[y == 1].mean() >= 0.75  # a confident token in most motif carriers,
    assert kept[y == 0].mean() <= 0.25  # and in few sequences without the motif


def test_recovers_informative_features_like_univariate_selectors():
    """Mean over 5 datasets (single datasets are noisy: 200 training samples, 5 of 30 features)."""
    n_informative = 5
    results: dict[str, list[tuple[float, float]]] = {"f_classif": [], "mutual_info": [], "extractive": []}
    for seed in range(5):
        X, y = omics_task(400, 30, n_informative, seed=seed)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
        for name, selector in [("f_classif", SelectKBest(f_classif, k=n_informative)),
                               ("mutual_info", SelectKBest(mutual_info_classif, k=n_informative)),
                               ("extractive", ExtractiveSummarizer(k=n_informative, max_epochs=60,
                                                                   random_state=0))]:
            pipe = make_pipeline(selector, LogisticRegression()).fit(X_train, y_train)
            results[name].append((informative_recall(pipe[0].get_support(), n_informative),
                                  pipe.score(X_test, y_test)))
    mean = {name: np.mean(rows, axis=0) for name, rows in results.items()}
    recall, accuracy = mean.pop("extractive")
    assert recall >= max(r for r, _ in mean.values()), mean
    assert accuracy >= max(a for _, a in mean.values()) - 0.03, mean
