"""Evaluators of a pretrained model on a classification task; each returns test probabilities ``(N_test, C)``.

* ``embedding-lr``: frozen mean-pooled embeddings (the suite's ``probe_layers``, concatenated; default the last
  layer) -> standardized logistic regression;
* ``extractive-lr``: per-token embeddings -> :class:`~bioLM.heads.ExtractiveSummarizer` (mean of the selected
  tokens) -> logistic regression;
* ``abstractive-lr``: per-token embeddings -> :class:`~bioLM.heads.AbstractiveSummarizer` (supervised,
  ``n_components`` dims) -> logistic regression;
* ``finetune``: :func:`bioLM.scoring.finetune.finetune` of the whole model with the suite's budget.

Embeddings do not depend on the seed, so :class:`TaskEmbeddings` computes them once per task.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bioLM.benchmark.baselines import _full_proba, logistic_regression
from bioLM.benchmark.suite import Budget
from bioLM.scoring.tasks import Task

logger = logging.getLogger(__name__)


@dataclass
class TaskEmbeddings:
    """Lazily computed train/test embeddings of one task under one model (mean pooled and per token)."""

    model: object
    tokenizer: object
    train: list[str]
    test: list[str]
    max_tokens: int = 16384
    probe_layers: list[int] | str = (-1,)
    window_overlap: int = 64
    _cache: dict[str, tuple] = field(default_factory=dict)

    def get(self, pooling: str) -> tuple:
        """``(train, test)``: arrays ``(N, H x probe layers)`` for ``mean`` (the probe layers side by side),
        lists of last-layer ``(L_i, H)`` for ``per-token``."""
        if pooling not in self._cache:
            from bioLM.embedding import embed

            layers = self.probe_layers if pooling == "mean" else [-1]
            by_layer = embed(self.train + self.test, self.model, self.tokenizer, layers, pooling,
                             max_tokens=self.max_tokens, window_overlap=self._overlap())
            values = np.concatenate(list(by_layer.values()), axis=1) if pooling == "mean" else by_layer[-1]
            self._cache[pooling] = (values[:len(self.train)], values[len(self.train):])
        return self._cache[pooling]

    def _overlap(self) -> int:
        """The suite's window overlap, at most a quarter of the model's context."""
        from bioLM.embedding import model_context

        return min(self.window_overlap, model_context(self.model, self.tokenizer) // 4)


def _probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int) -> np.ndarray:
    model = make_pipeline(StandardScaler(), logistic_regression(seed)).fit(x_train, y_train)
    return _full_proba(model, model.predict_proba(x_test), y_train)


def embedding_lr(embeddings: TaskEmbeddings, y_train: np.ndarray, seed: int) -> np.ndarray:
    """Frozen mean-pooled embeddings + logistic regression."""
    train, test = embeddings.get("mean")
    return _probe(train, y_train, test, seed)


def summarizer_lr(kind: str, embeddings: TaskEmbeddings, y_train: np.ndarray, budget: Budget,
                  seed: int) -> np.ndarray:
    """Extractive (``kind='extractive'``) or abstractive summarizer fitted on the labels, then LR."""
    from bioLM.heads import AbstractiveSummarizer, ExtractiveSummarizer

    train, test = embeddings.get("per-token")
    if kind == "extractive":
        head = ExtractiveSummarizer(k=10, max_epochs=budget.epochs, batch_size=budget.batch_size,
                                    random_state=seed)
    else:
        head = AbstractiveSummarizer(n_components=16, max_epochs=budget.epochs, batch_size=budget.batch_size,
                                     random_state=seed)
    head.fit(train, y_train)
    return _probe(np.asarray(head.transform(train)), y_train, np.asarray(head.transform(test)), seed)


def finetune_probabilities(model_dir: Path, task: Task, budget: Budget, seed: int) -> np.ndarray:
    """Fine-tune the whole model (early stopping on validation, at most ``budget.epochs``); test probabilities."""
    from bioLM.scoring import finetune as ft

    config = ft.FinetuneConfig(learning_rate=budget.finetune_learning_rate, batch_size=budget.batch_size,
                               max_epochs=budget.epochs, seed=seed, progress=False)
    with tempfile.TemporaryDirectory(prefix="biolm-finetune-") as tmp:
        logits = ft.finetune(model_dir, task, tmp, config).logits["test"]
    return torch.softmax(torch.as_tensor(logits), dim=-1).numpy()


def run_evaluator(name: str, embeddings: TaskEmbeddings, task: Task, model_dir: Path, budget: Budget,
                  seed: int) -> np.ndarray:
    """Dispatch an evaluator by its suite name."""
    y_train = task.splits["train"].labels
    if name == "embedding-lr":
        return embedding_lr(embeddings, y_train, seed)
    if name in ("extractive-lr", "abstractive-lr"):
        return summarizer_lr(name.split("-")[0], embeddings, y_train, budget, seed)
    if name == "finetune":
        return finetune_probabilities(model_dir, task, budget, seed)
    raise ValueError(f"unknown evaluator {name!r}")
