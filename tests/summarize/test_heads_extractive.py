"""The extractive head finds what matters: planted features (linear, XOR, redundant copies, two blocks) in
matrices, planted motifs in sequences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from bioLM.errors import InputFormatError
from bioLM.summarize import ExtractiveSummarizer, _stability, planted
from bioLM.summarize._stability import N_FOLDS, one_se_choice, resamples, stability_select
from bioLM.synthetic import planted_motif_dataset

MOTIF = "TTGACA"

_CODE = {"A": 0, "C": 1, "G": 2, "T": 3}


def kmer_onehot(sequences: Sequence[str], k: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Equal-length DNA -> ((n, L-k+1, 4k) one-hot k-mer tokens, offsets (L-k+1, 2) per sequence)."""
    codes = np.array([[_CODE[b] for b in s] for s in sequences])  # (n, L)
    n, length = codes.shape
    positions = length - k + 1
    onehot = np.eye(4)[codes]  # (n, L, 4)
    tokens = np.concatenate([onehot[:, j:j + positions] for j in range(k)], axis=2)  # (n, P, 4k)
    spans = np.stack([np.arange(positions), np.arange(positions) + k], axis=1)
    return tokens, [spans] * n


def motif_task(n: int, length: int, motif: str, k: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[np.ndarray]]:
    """Planted-motif sequences as k-mer tokens: (X (n, P, 4k), y, motif starts (-1 in class 0), sequences,
    offsets)."""
    sequences, y, starts = planted_motif_dataset(n, length, motif, np.random.default_rng(seed))
    X, offsets = kmer_onehot(sequences, k)
    return X, y, starts, sequences, offsets


def motif_hit_rate(selected: Sequence[Sequence], starts: np.ndarray, motif_length: int) -> float:
    """Precision of selections: fraction of selected items (``SelectedItem``) whose base span overlaps
    ``[start, start + motif_length)`` of their sequence. Sequences with ``start == -1`` are skipped."""
    hits = total = 0
    for items, start in zip(selected, starts):
        if start < 0:
            continue
        for item in items:
            total += 1
            hits += item.start < start + motif_length and item.end > start
    return hits / max(total, 1)


def _fit(X, y, k: int, **kwargs) -> ExtractiveSummarizer:
    return ExtractiveSummarizer(k=k, n_repeats=1, random_state=0, **kwargs).fit(X, y)


def test_linear_signal_recovered_at_least_as_well_as_f_classif():
    X, y, truth = planted.linear(300, 40, 5, seed=0)
    ours = np.flatnonzero(_fit(X, y, 5).get_support())
    anova = np.flatnonzero(SelectKBest(f_classif, k=5).fit(X, y).get_support())
    assert len(set(ours) & set(truth)) >= max(4, len(set(anova) & set(truth)))


def test_xor_pair_found_where_univariate_selection_sees_nothing():
    X, y, truth = planted.xor(400, 20, seed=0)
    head = _fit(X, y, 2)
    assert set(np.flatnonzero(head.get_support())) == set(truth)
    assert head.criterion_ in ("trees", "union", "consensus", "pairs")
    assert set(np.flatnonzero(SelectKBest(f_classif, k=2).fit(X, y).get_support())) != set(truth)


def test_interaction_screen_finds_the_xor_pair_where_tree_importance_misses_it():
    found = {"pairs": 0, "trees": 0}
    for seed in range(3):
        X, y, truth = planted.xor(240, 50, seed=seed)
        for criterion in found:
            head = _fit(X, y, 2, criteria=(criterion,))
            found[criterion] += set(np.flatnonzero(head.get_support())) == set(truth)
    assert found["pairs"] == 3 > found["trees"]
    auto = _fit(*planted.xor(240, 50, seed=0)[:2], 2)
    assert auto.criterion_ == "pairs" and set(np.flatnonzero(auto.get_support())) == {0, 1}


def test_redundant_copies_do_not_crowd_out_weaker_signals():
    X, y, groups = planted.redundant(400, 40, n_signals=3, copies=4, seed=0)
    kept = set(np.flatnonzero(_fit(X, y, 3).get_support()))
    covered = sum(bool(kept & set(g)) for g in groups)
    anova = set(np.flatnonzero(SelectKBest(f_classif, k=3).fit(X, y).get_support()))
    assert covered == 3 > sum(bool(anova & set(g)) for g in groups)


def test_signal_split_across_two_blocks_is_recovered_with_its_blocks():
    blocks, y, truth = planted.two_blocks(300, 20, 30, seed=0)
    head = _fit(blocks, y, 2)
    assert sorted(head.get_feature_names_out()) == sorted(f"{b}:{j}" for b, j in truth)
    assert sorted(head.get_feature_blocks_out()) == ["methylation", "rna"]
    kept = head.transform(blocks)
    assert kept.shape == (300, 2)
    together = cross_val_score(LogisticRegression(), kept, y, cv=3).mean()
    alone = [cross_val_score(LogisticRegression(), block, y, cv=3).mean() for block in blocks.values()]
    assert together >= 0.9 and max(alone) <= 0.65, (together, alone)
    with pytest.raises(InputFormatError, match="do not match the fit"):
        head.transform({"rna": blocks["rna"]})
    with pytest.raises(InputFormatError, match="fitted on blocks"):
        head.transform(blocks["rna"])


def test_scores_are_selection_frequencies_and_threshold_uses_them():
    X, y, truth = planted.linear(300, 30, 4, seed=1)
    head = _fit(X, y, 4)
    assert head.scores_.min() >= 0 and head.scores_.max() <= 1
    assert np.all(head.scores_[truth] >= 0.75)
    stable = head.set_params(threshold=0.75).get_support()
    np.testing.assert_array_equal(stable, head.scores_ >= 0.75)
    assert set(head.cv_scores_) >= {"anova@1", "trees@0.7"}


def test_threads_over_the_resamples_give_the_same_selection():
    X, y, _ = planted.linear(200, 40, 4, seed=2)  # 3 classes: three liblinear fits per resample
    one, two = (ExtractiveSummarizer(k=4, n_repeats=1, random_state=0, n_jobs=jobs).fit(X, y) for jobs in (1, 2))
    np.testing.assert_array_equal(one.ranking_, two.ranking_)
    np.testing.assert_array_equal(one.scores_, two.scores_)
    assert one.cv_scores_ == two.cv_scores_ and one.criterion_ == two.criterion_


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


def test_anndata_blocks_are_named_by_uns_and_var_names():
    anndata = pytest.importorskip("anndata")
    blocks, y, _ = planted.two_blocks(200, 4, 3, seed=1)
    rna = anndata.AnnData(blocks["rna"])
    rna.var_names = [f"gene{j}" for j in range(4)]
    rna.uns["name"] = "rna"
    methylation = anndata.AnnData(blocks["methylation"])  # unnamed: "block1", var names "0", "1", ...
    head = ExtractiveSummarizer(k=2, n_repeats=1, random_state=0).fit([rna, methylation], y)
    assert sorted(head.get_feature_names_out()) == ["block1:0", "rna:gene0"]
    assert head.transform([rna, methylation]).shape == (200, 2)
    with pytest.raises(InputFormatError, match="different numbers of samples"):
        head.fit({"a": blocks["rna"], "b": blocks["methylation"][:10]}, y)


def test_one_se_rule_keeps_the_default_unless_a_rival_is_better_by_the_margin():
    # the rival is better by 0.015 on average, about 2 SE of the paired differences
    rival = [0.84, 0.80, 0.84, 0.80, 0.83, 0.80, 0.82, 0.79]
    scores = {"default": [0.80] * 8, "rival": rival}
    se = np.std(np.subtract(rival, 0.80), ddof=1) / np.sqrt(8)
    gap = np.mean(rival) - 0.80
    assert se < gap < 3 * se
    assert one_se_choice(scores, ["default", "rival"]) == "rival"
    assert one_se_choice(scores, ["default", "rival"], margin=3.0) == "default"
    assert one_se_choice(scores, ["rival", "default"]) == "rival"


def test_a_rival_replaces_the_default_only_if_its_lead_holds_on_fresh_resamples(monkeypatch):
    X, y, truth = planted.linear(120, 12, 3, seed=0)
    X = (X - X.mean(0)) / X.std(0)
    y = (y == y[0]).astype(int)  # two classes: the default is the sparse logistic
    seeds = []
    real = _stability.resamples
    monkeypatch.setattr(_stability, "resamples", lambda y, c, n, seed: seeds.append(seed) or real(y, c, n, seed))
    monkeypatch.setattr(_stability, "one_se_choice", lambda scores, order, margin=1.0: order[-1])  # a rival
    # every selection scores the same on every resample: the rival's lead is 0, not > 1 SE
    monkeypatch.setattr(_stability, "held_out_score", lambda *args, **kwargs: 0.5)
    result = stability_select(X, y, 3, True, ("anova", "l1"), (1.0,), 2, seed=3)
    assert result.criterion == "l1" and seeds == [3, 5]  # 2 repeats, then 2 fresh ones (seeds 5, 6)
    seeds.clear()
    monkeypatch.setattr(_stability, "one_se_choice", lambda scores, order, margin=1.0: order[0])  # the default
    assert stability_select(X, y, 3, True, ("anova", "l1"), (1.0,), 2, seed=3).criterion == "l1"
    assert seeds == [3]  # nothing to confirm
    seeds.clear()
    monkeypatch.undo()
    monkeypatch.setattr(_stability, "resamples", lambda y, c, n, seed: seeds.append(seed) or real(y, c, n, seed))
    X, y, truth = planted.xor(240, 20, seed=0)  # the pair leads by far more than SURE_SE: no confirmation
    result = stability_select((X - X.mean(0)) / X.std(0), y, 2, True, ("l1", "pairs"), (1.0,), 2, seed=3)
    assert result.criterion == "pairs" and set(result.order[:2]) == set(truth) and seeds == [3]


def test_candidates_are_judged_on_held_out_fifths_stratified_and_repeated():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    splits = resamples(y, True, n_repeats=2, seed=0)
    assert len(splits) == 2 * N_FOLDS
    for repeat in (splits[:N_FOLDS], splits[N_FOLDS:]):  # each repeat: the held-out folds partition the samples
        held_out = np.concatenate([test for _, test in repeat])
        np.testing.assert_array_equal(np.sort(held_out), np.arange(len(y)))
        for fit, test in repeat:
            assert len(test) == len(y) // N_FOLDS and not set(fit) & set(test)
            np.testing.assert_array_equal(np.bincount(y[test]), [10, 6, 4])  # stratified
    assert not np.array_equal(splits[0][1], splits[N_FOLDS][1])  # a repeat is a new shuffle
    rare = np.array([0] * 20 + [1] * 3)  # a class with fewer members than folds: plain K-fold
    assert all(len(test) in (4, 5) for _, test in resamples(rare, True, 1, 0))
    few = resamples(np.arange(6.0), False, 1, 0)  # 6 samples: 3 folds of 2
    assert [len(test) for _, test in few] == [2, 2, 2]


def test_ridge_criterion_ranks_by_l2_logistic_weights_for_classes_and_ridge_weights_for_regression():
    X, y, truth = planted.linear(300, 40, 5, seed=0)  # three classes
    X = (X - X.mean(0)) / X.std(0)
    scores = _stability.criterion_scores(X, y, y, 1.0, 5, seed=0, only=("ridge",))
    assert sorted(scores) == ["anova", "ridge"]  # only what was asked for (and the tie-breaker)
    assert len(set(np.argsort(-scores["ridge"])[:5]) & set(truth)) >= 4
    weights = LogisticRegression(C=1.0, max_iter=1000).fit(X, y).coef_  # (3, p): the largest |weight| per feature
    np.testing.assert_allclose(scores["ridge"], np.abs(weights).max(axis=0), rtol=1e-2, atol=1e-3)
    rng = np.random.default_rng(0)
    target = X[:, truth] @ rng.choice([-1.0, 1.0], 5) + rng.normal(size=len(X))
    regression = _stability.criterion_scores(X, target, None, 0.1, 5, seed=0, only=("ridge",))["ridge"]
    assert set(np.argsort(-regression)[:5]) == set(truth)
    head = _fit(X, y, 5, criteria=("ridge",))
    assert head.criterion_ == "ridge" and set(head.cv_scores_) == {"ridge@1", "ridge@0.9", "ridge@0.7"}


def _latent(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense signal: every feature a noisy mixture of 8 latent factors, the class from the first factor."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 8))
    X = Z @ rng.normal(size=(8, p)) + 2.0 * rng.normal(size=(n, p))
    return X, (Z[:, 0] + 0.5 * rng.logistic(size=n) > 0).astype(int)


def test_the_dense_model_is_the_default_where_its_held_out_mean_is_the_better(monkeypatch):
    def head(seed: int) -> ExtractiveSummarizer:
        return _fit(*_latent(300, 60, seed), 5, criteria=("l1", "ridge"), redundancy=(1.0,))

    dense, sparse = head(2), head(0)
    assert dense.criterion_ == "ridge" and dense.cv_scores_["ridge@1"] > dense.cv_scores_["l1@1"]
    assert sparse.criterion_ == "l1" and sparse.cv_scores_["ridge@1"] < sparse.cv_scores_["l1@1"]
    monkeypatch.setattr(_stability, "DENSE", "none")  # ridge as a rival only: its lead is within one SE
    assert head(2).criterion_ == "l1"
