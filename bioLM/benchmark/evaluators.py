"""Evaluators of a pretrained model on a classification task; each returns test probabilities ``(N_test, C)``
and a dict of details for results.json (chosen layer, epochs).

* ``embedding-lr``: frozen mean-pooled embeddings -> standardized logistic regression. Several
  ``probe_layers`` are concatenated (``probe_select: concat``) or one probe per layer is fitted and the layer
  with the best *validation* MCC is kept (``probe_select: validation``);
* ``extractive-lr``: per-token embeddings -> :class:`~bioLM.summarize.ExtractiveSummarizer` (mean of the selected
  tokens) -> logistic regression;
* ``abstractive-lr``: per-token embeddings -> :class:`~bioLM.summarize.AbstractiveSummarizer` (supervised,
  ``n_components`` dims) -> logistic regression;
* ``finetune``: :func:`bioLM.finetuning.finetune.finetune` of the whole model with the suite's budget (early
  stopping and the kept epoch chosen on the validation split, warmup + decaying learning rate);
* ``finetune-lora``: the same with LoRA adapters (:mod:`bioLM.finetuning.lora`);
* ``scratch``: the same architecture, tokenizer and budget as ``finetune`` from random initialization;
  ``finetune - scratch`` is the pretraining gain.

With the suite's ``rc_average`` (DNA), a sequence and its reverse complement are averaged: mean-pooled
embeddings, and the fine-tuned models' logits. Embeddings do not depend on the seed, so
:class:`TaskEmbeddings` computes them once per task.
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
from bioLM.benchmark.metrics import mcc
from bioLM.benchmark.suite import Budget, Suite
from bioLM.finetuning.tasks import Task

logger = logging.getLogger(__name__)


@dataclass
class TaskEmbeddings:
    """Lazily computed train/validation/test embeddings of one task under one model (mean pooled, per token)."""

    model: object
    tokenizer: object
    train: list[str]
    test: list[str]
    max_tokens: int = 16384
    probe_layers: list[int] | str = (-1,)
    window_overlap: int = 64
    validation: list[str] = field(default_factory=list)
    rc_average: bool = False
    """Average each mean-pooled embedding with its reverse complement's (DNA)."""
    _cache: dict[str, object] = field(default_factory=dict)

    def layers(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Mean-pooled ``(train, validation, test)`` arrays ``(N, H)`` per probe layer."""
        if "layers" not in self._cache:
            from bioLM.embedding import embed

            sequences = self.train + self.validation + self.test
            by_layer = embed(sequences, self.model, self.tokenizer, self.probe_layers, "mean",
                             max_tokens=self.max_tokens, window_overlap=self._overlap(),
                             reverse_complement_average=self.rc_average)
            cuts = np.cumsum([len(self.train), len(self.validation)])
            self._cache["layers"] = {layer: tuple(np.split(values, cuts)) for layer, values in by_layer.items()}
        return self._cache["layers"]

    def get(self, pooling: str) -> tuple:
        """``(train, test)``: arrays ``(N, H x probe layers)`` for ``mean`` (the probe layers side by side),
        lists of last-layer ``(L_i, H)`` for ``per-token``."""
        if pooling == "mean":
            parts = list(self.layers().values())
            return (np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[2] for p in parts], axis=1))
        if pooling not in self._cache:
            from bioLM.embedding import embed

            values = embed(self.train + self.test, self.model, self.tokenizer, [-1], pooling,
                           max_tokens=self.max_tokens, window_overlap=self._overlap())[-1]
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
    """Frozen mean-pooled embeddings (probe layers side by side) + logistic regression."""
    train, test = embeddings.get("mean")
    return _probe(train, y_train, test, seed)


def embedding_lr_best_layer(embeddings: TaskEmbeddings, y_train: np.ndarray, y_validation: np.ndarray,
                            seed: int) -> tuple[np.ndarray, dict]:
    """One probe per layer; the layer with the best validation MCC (ties: the later layer) predicts the test
    split. Details: the chosen layer and every layer's validation MCC."""
    scores, probabilities = {}, {}
    for layer, (train, validation, test) in embeddings.layers().items():
        model = make_pipeline(StandardScaler(), logistic_regression(seed)).fit(train, y_train)
        scores[layer] = mcc(y_validation, _full_proba(model, model.predict_proba(validation), y_train))
        probabilities[layer] = _full_proba(model, model.predict_proba(test), y_train)
    best = max(scores, key=lambda layer: (scores[layer], layer))
    return probabilities[best], {"layer": best, "validation_mcc": {str(k): v for k, v in scores.items()}}


def summarizer_lr(kind: str, embeddings: TaskEmbeddings, y_train: np.ndarray, budget: Budget,
                  seed: int) -> np.ndarray:
    """Extractive (``kind='extractive'``) or abstractive summarizer fitted on the labels, then LR."""
    from bioLM.summarize import AbstractiveSummarizer, ExtractiveSummarizer

    train, test = embeddings.get("per-token")
    if kind == "extractive":
        head = ExtractiveSummarizer(k=10, max_epochs=budget.epochs, batch_size=budget.batch_size,
                                    random_state=seed)
    else:
        head = AbstractiveSummarizer(n_components=16, max_epochs=budget.epochs, batch_size=budget.batch_size,
                                     random_state=seed)
    head.fit(train, y_train)
    return _probe(np.asarray(head.transform(train)), y_train, np.asarray(head.transform(test)), seed)


def finetune_probabilities(model_dir: Path, task: Task, suite: Suite, seed: int, *, lora: bool = False,
                           from_scratch: bool = False) -> tuple[np.ndarray, dict]:
    """Fine-tune the whole model (or LoRA adapters, or the architecture from random init) with the suite's
    budget; test probabilities (seed ``seed``) and details (epochs, best epoch, validation metrics)."""
    from bioLM.finetuning import finetune as ft

    budget: Budget = suite.budget
    config = ft.FinetuneConfig(
        learning_rate=budget.finetune_learning_rate, batch_size=budget.batch_size, max_epochs=budget.epochs,
        patience=budget.patience, lr_schedule=budget.finetune_schedule, warmup_fraction=budget.warmup_fraction,
        seed=seed, progress=False, lora=lora, from_scratch=from_scratch, device=suite.device,
        precision=suite.precision, reverse_complement_average=suite.rc_average and task.alphabet == "dna")
    with tempfile.TemporaryDirectory(prefix="biolm-finetune-") as tmp:
        result = ft.finetune(model_dir, task, tmp, config)
    details = {"epochs": result.epochs, "best_epoch": result.best_epoch,
               "validation": ft.finite_metrics(result.metrics)["validation"]}
    return torch.softmax(torch.as_tensor(result.logits["test"]), dim=-1).numpy(), details


def run_evaluator(name: str, embeddings: TaskEmbeddings, task: Task, model_dir: Path, suite: Suite,
                  seed: int) -> tuple[np.ndarray, dict]:
    """Dispatch an evaluator by its suite name: ``(test probabilities (N_test, C), details)``."""
    y_train = task.splits["train"].labels
    if name == "embedding-lr":
        if suite.probe_select == "validation" and len(embeddings.layers()) > 1:
            return embedding_lr_best_layer(embeddings, y_train, task.splits["validation"].labels, seed)
        return embedding_lr(embeddings, y_train, seed), {}
    if name in ("extractive-lr", "abstractive-lr"):
        return summarizer_lr(name.split("-")[0], embeddings, y_train, suite.budget, seed), {}
    if name in ("finetune", "finetune-lora", "scratch"):
        return finetune_probabilities(model_dir, task, suite, seed, lora=name == "finetune-lora",
                                      from_scratch=name == "scratch")
    raise ValueError(f"unknown evaluator {name!r}")
