"""Synthetic tasks and measures that show the heads work; shared by ``tests/heads`` and ``benchmarks/heads.py``.

- :func:`kmer_onehot`: DNA -> per-position one-hot of the k-mer starting there, ``(n, L-k+1, 4k)``, with
  token offsets (0-based half-open base spans), standing in for per-token embeddings of a k-mer model.
- :func:`motif_hit_rate`: fraction of selected tokens that overlap the planted motif.
- :func:`omics_task`: ``make_classification`` with the informative features first.
- :func:`shell_task`: concentric circles in two features plus high-variance noise features (PCA keeps the
  noise); :func:`linear_task`: a linear task whose signal carries most of the variance (PCA's home ground).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.datasets import make_circles, make_classification

from bioLM.synthetic import planted_motif_dataset

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


def omics_task(n_samples: int, n_features: int, n_informative: int, seed: int,
               n_clusters_per_class: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Samples x features; features ``0..n_informative-1`` are the informative ones, the rest noise."""
    return make_classification(n_samples=n_samples, n_features=n_features, n_informative=n_informative,
                               n_redundant=0, n_repeated=0, n_clusters_per_class=n_clusters_per_class,
                               class_sep=1.0, flip_y=0.01, shuffle=False, random_state=seed)


def informative_recall(support: np.ndarray, n_informative: int) -> float:
    """Fraction of features ``0..n_informative-1`` inside a boolean support mask."""
    return float(np.asarray(support)[:n_informative].mean())


def shell_task(n_samples: int, n_noise: int, seed: int, noise_scale: float = 3.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Class = inner/outer circle in features 0-1 (unit scale); ``n_noise`` N(0, noise_scale²) features."""
    rng = np.random.default_rng(seed)
    circles, y = make_circles(n_samples=n_samples, factor=0.4, noise=0.08, random_state=seed)
    noise = rng.normal(scale=noise_scale, size=(n_samples, n_noise))
    return np.hstack([circles, noise]), y


def linear_task(n_samples: int, n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A linear task with 2 informative and 8 redundant (linear-combination) features, rest noise."""
    return make_classification(n_samples=n_samples, n_features=n_features, n_informative=2,
                               n_redundant=8, n_clusters_per_class=1, shuffle=False, random_state=seed)
