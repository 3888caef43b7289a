"""Metrics: agreement with scikit-learn, bootstrap CIs (contain the estimate, deterministic), ratio CIs."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, matthews_corrcoef, roc_auc_score

from bioLM.benchmark import metrics as M
from bioLM.errors import ConfigError


def _binary(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.25, n), 0, 1), 2)  # rounded: many ties
    return y, np.stack([1 - score, score], 1)


def _multiclass(n=400, k=4, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, proba


def test_binary_metrics_match_sklearn():
    y, proba = _binary()
    assert M.auroc(y, proba) == pytest.approx(roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert M.mcc(y, proba) == pytest.approx(matthews_corrcoef(y, proba.argmax(1)), abs=1e-12)
    assert M.accuracy(y, proba) == pytest.approx(accuracy_score(y, proba.argmax(1)))


def test_multiclass_metrics_match_sklearn():
    y, proba = _multiclass()
    assert M.auroc(y, proba) == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)
    assert M.mcc(y, proba) == pytest.approx(matthews_corrcoef(y, proba.argmax(1)), abs=1e-12)
    assert M.macro_accuracy(y, proba) == pytest.approx(balanced_accuracy_score(y, proba.argmax(1)))


def test_degenerate_cases():
    y = np.zeros(5, dtype=int)
    proba = np.tile([0.8, 0.2], (5, 1))
    assert np.isnan(M.auroc(y, proba))
    assert M.mcc(y, proba) == 0.0 == matthews_corrcoef(y, proba.argmax(1))
    assert np.isnan(M.spearman(np.arange(4.0), np.ones(4)))


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    y, proba = _binary()
    other = np.clip(proba + np.random.default_rng(3).normal(0, 0.05, proba.shape), 0, 1)
    estimate = M.summarize(M.mcc, y, [proba, other], n_boot=300, seed=7)
    assert estimate.ci[0] <= estimate.value <= estimate.ci[1]
    assert estimate.ci[1] - estimate.ci[0] > 0.01
    assert estimate.seeds == pytest.approx([M.mcc(y, proba), M.mcc(y, other)])
    assert estimate.sd == pytest.approx(np.std(estimate.seeds, ddof=1))
    again = M.summarize(M.mcc, y, [proba, other], n_boot=300, seed=7)
    assert again.ci == estimate.ci
    assert M.summarize(M.mcc, y, [proba, other], n_boot=300, seed=8).ci != estimate.ci


def test_bootstrap_rejects_zero_replicates():
    y, proba = _binary(20)
    with pytest.raises(ConfigError, match="n_boot=0"):
        M.bootstrap_ci(M.auroc, y, [proba], n_boot=0)


def test_spearman_and_ratio_ci():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    estimate = M.summarize(M.spearman, x, [x + rng.normal(0, 0.5, 200)], n_boot=200)
    assert 0.7 < estimate.value < 1 and estimate.ci[0] <= estimate.value <= estimate.ci[1]
    value, low, high = M.ratio_ci(np.array([10.0, 30.0, 20.0]), np.array([10.0, 10.0, 10.0]), n_boot=200)
    assert value == pytest.approx(2.0) and 1.0 <= low <= value <= high <= 3.0


def test_paired_difference_resolves_a_real_gap_and_not_noise():
    y, good = _binary(n=600)
    rng = np.random.default_rng(5)
    coin = rng.random(600)
    chance = np.stack([1 - coin, coin], 1)
    gap = M.paired_difference(M.mcc, y, [good], [chance], n_boot=200)
    assert gap["difference"] == pytest.approx(M.mcc(y, good) - M.mcc(y, chance))
    assert gap["verdict"] == "better" and gap["ci"][0] > 0
    assert M.paired_difference(M.mcc, y, [chance], [good], n_boot=200)["verdict"] == "worse"
    same = M.paired_difference(M.mcc, y, [good], [good.copy()], n_boot=50)
    assert same["difference"] == 0.0 and same["ci"] == [0.0, 0.0] and same["verdict"] == "not resolved"
