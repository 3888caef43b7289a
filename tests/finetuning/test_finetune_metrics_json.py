"""metrics.json of a fine-tuning run is valid JSON: an undefined metric (AUROC of a one-class split) is null."""

from __future__ import annotations

import json
import math

import numpy as np

from bioLM.finetuning.finetune import (
    FinetuneConfig,
    FinetuneResult,
    _export,
    finite_metrics,
)
from bioLM.finetuning.tasks import Task, TaskSplit
from bioLM.metrics import classification_metrics
from bioLM.tokenization import build_tokenizer


class _Saves:
    def save_pretrained(self, directory) -> None:
        pass


def test_undefined_metric_is_null_in_metrics_json(tmp_path):
    one_class = classification_metrics(np.array([1, 1, 1]), np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]]))
    assert math.isnan(one_class["auroc"])
    split = TaskSplit(["ACGT"] * 3, np.array([1, 1, 1]))
    task = Task("t", "classification", {"train": split, "validation": split, "test": split}, ["0", "1"])
    result = FinetuneResult(tmp_path / "out", metrics={"test": one_class})
    _export(_Saves(), build_tokenizer("char", alphabet="dna"), result, task, FinetuneConfig(), [], tmp_path / "base")
    text = (tmp_path / "out" / "metrics.json").read_text()
    assert "NaN" not in text
    written = json.loads(text)["metrics"]["test"]
    assert written["auroc"] is None and written["accuracy"] == one_class["accuracy"]
    assert finite_metrics({"v": {"a": float("inf"), "b": 0.5}}) == {"v": {"a": None, "b": 0.5}}
