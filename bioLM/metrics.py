"""The one place for evaluation metrics: classification (AUROC, MCC, accuracy, macro accuracy) on class
probabilities, Spearman's rho and R² on scores. Fine-tuning, mutation scoring and the benchmark call these.

Classification metrics take the true labels ``y`` (N,) and class probabilities ``(N, C)``; Spearman takes
targets and scores (N,). Ranks and Spearman come from :mod:`scipy.stats`, R² from :mod:`sklearn.metrics`.
AUROC (Mann-Whitney U from ``rankdata``) and MCC (from the confusion matrix) are the few lines of their
definitions rather than ``sklearn.metrics`` calls because the benchmark's bootstrap calls them thousands of times
and sklearn's input validation makes each call 15-50x slower (3 ms against 0.1-0.2 ms at N=500);
``tests/benchmark/test_metrics.py`` checks they equal ``roc_auc_score`` / ``matthews_corrcoef`` (ties, multi-class).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata, spearmanr

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def _binary_auroc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUROC (ties count half), same value as sklearn's roc_auc_score."""
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auroc(y: np.ndarray, proba: np.ndarray) -> float:
    """Area under the ROC curve: binary on ``proba[:, 1]``, else one-vs-rest macro over the classes present
    (scores renormalized over them, as sklearn does); NaN with one class."""
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return _binary_auroc(y == 1, proba[:, 1])
    scores = proba[:, present] / np.clip(proba[:, present].sum(1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return _binary_auroc(y == present[1], scores[:, 1])
    return float(np.mean([_binary_auroc(y == c, scores[:, i]) for i, c in enumerate(present)]))


def _confusion(y: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y.astype(np.int64) * k + predicted, minlength=k * k).reshape(k, k)


def mcc(y: np.ndarray, proba: np.ndarray) -> float:
    """Matthews correlation coefficient of the arg-max predictions (multi-class: Gorodkin's R_K, as sklearn;
    0 when undefined)."""
    k = max(proba.shape[1], int(y.max(initial=0)) + 1)
    c = _confusion(y, proba.argmax(1), k).astype(np.float64)
    t, p, s = c.sum(1), c.sum(0), c.sum()
    numerator = np.trace(c) * s - t @ p
    denominator = np.sqrt((s * s - p @ p) * (s * s - t @ t))
    return float(numerator / denominator) if denominator > 0 else 0.0


def accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    """Fraction of arg-max predictions equal to ``y``."""
    return float(np.mean(proba.argmax(1) == y))


def macro_accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean recall over the classes present (balanced accuracy), the 'macro accuracy' of SCL2205 papers."""
    predicted = proba.argmax(1)
    return float(np.mean([np.mean(predicted[y == c] == c) for c in np.unique(y)]))


def spearman(y: np.ndarray, scores: np.ndarray) -> float:
    """Spearman's rho of ``scores`` against ``y`` (NaN when either is constant)."""
    if len(y) < 2 or np.all(y == y[0]) or np.all(scores == scores[0]):
        return float("nan")
    return float(spearmanr(y, scores).statistic)


CLASSIFICATION: dict[str, MetricFn] = {"auroc": auroc, "mcc": mcc, "accuracy": accuracy,
                                       "macro_accuracy": macro_accuracy}
SCORES: dict[str, MetricFn] = {"spearman": spearman}


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """AUROC (binary, or one-vs-rest macro over the classes present), MCC and accuracy. probabilities (N, C)."""
    return {"accuracy": accuracy(labels, probabilities), "mcc": mcc(labels, probabilities),
            "auroc": auroc(labels, probabilities)}


def regression_metrics(targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Spearman's rho and R² of ``predictions`` against ``targets`` (both shape (N,))."""
    from sklearn.metrics import r2_score

    return {"spearman": spearman(np.asarray(targets), np.asarray(predictions)),
            "r2": float(r2_score(targets, predictions))}
