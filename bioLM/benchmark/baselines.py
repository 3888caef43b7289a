"""Baselines computed in the same run as the model: k-mer counts + LR, amino-acid composition + LR, and a
small one-hot CNN trained with the suite's budget. Each returns test class probabilities ``(N_test, C)``."""

from __future__ import annotations

import logging

import numpy as np
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from torch import nn

from bioLM.alphabet import ALPHABETS
from bioLM.benchmark.suite import Budget

logger = logging.getLogger(__name__)


def logistic_regression(seed: int = 0) -> LogisticRegression:
    """The probe every feature set is scored with (L2, C=1, lbfgs)."""
    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)


def kmer_pipeline(k: int, seed: int = 0):
    """Overlapping k-mer frequencies (counts / total, L1) -> standardized -> logistic regression."""
    counts = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False, dtype=np.float32)
    return make_pipeline(counts, Normalizer(norm="l1"), StandardScaler(with_mean=False), logistic_regression(seed))


def kmer_lr(train: list[str], y_train: np.ndarray, test: list[str], k: int, seed: int = 0) -> np.ndarray:
    """k-mer frequency + LR baseline (k=1 on proteins is the amino-acid composition baseline)."""
    model = kmer_pipeline(k, seed).fit(train, y_train)
    return _full_proba(model, model.predict_proba(test), y_train)


def _full_proba(model, proba: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """Probabilities with one column per class index 0..max(y_train) (classes absent from train get 0)."""
    n_classes = int(y_train.max()) + 1
    if proba.shape[1] == n_classes:
        return proba
    full = np.zeros((len(proba), n_classes), dtype=proba.dtype)
    full[:, model.classes_] = proba
    return full


def one_hot(sequences: list[str], alphabet: str, length: int) -> torch.Tensor:
    """``(N, len(letters), length)`` float one-hot of the canonical letters (others all zero), right-padded."""
    letters = ALPHABETS[alphabet].canonical
    table = np.full(256, -1, dtype=np.int64)
    for i, letter in enumerate(letters):
        table[ord(letter)] = i
    out = np.zeros((len(sequences), len(letters), length), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        codes = table[np.frombuffer(sequence[:length].encode("ascii"), dtype=np.uint8)]
        positions = np.flatnonzero(codes >= 0)
        out[row, codes[positions], positions] = 1.0
    return torch.from_numpy(out)


class SmallCNN(nn.Module):
    """DeepBind-style motif detector: Conv(width 11) -> ReLU -> global max and mean pool -> Linear."""

    def __init__(self, in_channels: int, n_classes: int, channels: int = 64, width: int = 11) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, channels, width, padding=width // 2)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, A, L) -> logits (B, C)
        h = torch.relu(self.conv(x))  # (B, channels, L)
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1))


def cnn(train: list[str], y_train: np.ndarray, test: list[str], alphabet: str, budget: Budget,
        seed: int = 0, max_length: int = 1024) -> np.ndarray:
    """Train :class:`SmallCNN` for ``budget.epochs`` epochs (AdamW) and return test probabilities.

    Batches are one-hot encoded on the fly (memory ~ one batch); sequences longer than ``max_length`` are
    cut to their first ``max_length`` letters; a batch is padded to its longest sequence."""
    torch.manual_seed(seed)

    def encode(sequences: list[str]) -> torch.Tensor:  # padded to the batch's longest (at most max_length)
        return one_hot(sequences, alphabet, min(max(len(s) for s in sequences), max_length))

    y = torch.as_tensor(y_train, dtype=torch.long)
    model = SmallCNN(len(ALPHABETS[alphabet].canonical), int(y_train.max()) + 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=budget.learning_rate, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(budget.epochs):
        for index in torch.randperm(len(y), generator=generator).split(budget.batch_size):
            optimizer.zero_grad()
            batch = encode([train[i] for i in index.tolist()])
            loss = nn.functional.cross_entropy(model(batch), y[index])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.inference_mode():
        logits = torch.cat([model(encode(test[i:i + 256])) for i in range(0, len(test), 256)])
    return torch.softmax(logits, dim=1).numpy()


def run_baseline(name: str, train: list[str], y_train: np.ndarray, test: list[str], alphabet: str,
                 budget: Budget, seed: int) -> np.ndarray:
    """Dispatch a baseline by its suite name (kmer-4, kmer-6, cnn, aa-composition)."""
    if name.startswith("kmer-"):
        return kmer_lr(train, y_train, test, int(name.split("-")[1]), seed)
    if name == "aa-composition":
        return kmer_lr(train, y_train, test, 1, seed)
    if name == "cnn":
        return cnn(train, y_train, test, alphabet, budget, seed)
    raise ValueError(f"unknown baseline {name!r}")
