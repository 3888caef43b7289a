from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bioLM.alphabet import gc_fraction
from bioLM.errors import AlphabetError
from bioLM.finetuning.finetune import finetune
from bioLM.finetuning.tasks import Task, TaskSplit
from bioLM.metrics import classification_metrics, regression_metrics
from bioLM.synthetic import random_dna


def gc_task(rng, kind: str, sizes=(96, 32, 32)) -> Task:
    splits = {}
    for name, n in zip(("train", "validation", "test"), sizes):
        gc = np.where(np.arange(n) % 2 == 1, 0.8, 0.2) if kind == "classification" else rng.uniform(0.1, 0.9, n)
        sequences = [random_dna(32, rng, gc=g) for g in gc]
        labels = (np.arange(n) % 2).astype(np.int64) if kind == "classification" else \
            np.array([gc_fraction(s) for s in sequences])
        splits[name] = TaskSplit(sequences, labels)
    names = ["at_rich", "gc_rich"] if kind == "classification" else []
    return Task(f"gc_{kind}", kind, splits, names, "dna")


def test_metrics_golden():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    metrics = classification_metrics(labels, probabilities)
    assert metrics["accuracy"] == 0.75 and metrics["auroc"] == 1.0
    assert metrics["mcc"] == pytest.approx(0.57735, abs=1e-4)
    three = classification_metrics(np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 2]])
    assert three["auroc"] == 1.0 and three["mcc"] == 1.0
    reg = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 2.9]))
    assert reg["spearman"] == 1.0 and reg["r2"] == pytest.approx(1 - 0.26 / 2)


def test_classification_learns_and_exports(tmp_path, random_dna_dir, rng):
    from transformers import AutoModelForSequenceClassification

    task = gc_task(rng, "classification")
    result = finetune(random_dna_dir, task, tmp_path / "clf", learning_rate=3e-3, max_epochs=4, patience=2,
                      batch_size=16, progress=False, device="cpu")
    assert result.metrics["test"]["auroc"] > 0.9 and result.metrics["test"]["accuracy"] > 0.8
    saved = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert saved["labels"] == ["at_rich", "gc_rich"] and saved["metrics"]["test"] == result.metrics["test"]
    import bioLM  # noqa: F401  (registers the classes with the Auto classes)

    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "clf")
    assert reloaded.config.id2label == {0: "at_rich", 1: "gc_rich"}
    x = torch.tensor([[2, 5, 6, 7, 8, 3]])
    with torch.no_grad():
        logits = reloaded(input_ids=x).logits
    assert logits.shape == (1, 2)


def test_regression_frozen_backbone_stops_early(tmp_path, random_dna_dir, rng):
    from bioLM.model.loading import load as load_model

    task = gc_task(rng, "regression")
    result = finetune(random_dna_dir, task, tmp_path / "reg", freeze_backbone=True, learning_rate=0.0,
                      max_epochs=6, patience=1, batch_size=32, progress=False, device="cpu")
    assert result.epochs < 6  # lr 0: the validation loss never improves after the first epoch
    assert set(result.metrics["test"]) == {"spearman", "r2"}
    backbone, _ = load_model(random_dna_dir, device="cpu")
    from transformers import AutoModelForSequenceClassification

    import bioLM  # noqa: F401

    tuned = AutoModelForSequenceClassification.from_pretrained(tmp_path / "reg")
    before = dict(backbone.base_model.named_parameters())
    for name, value in tuned.base_model.named_parameters():
        torch.testing.assert_close(value, before[name])  # frozen: the backbone did not move


def test_bad_sequence_named(tmp_path, random_dna_dir, rng):
    task = gc_task(rng, "classification", sizes=(4, 2, 2))
    task.splits["train"].sequences[1] = "ACGT!"
    with pytest.raises(AlphabetError, match="train #2"):
        finetune(random_dna_dir, task, tmp_path / "x", max_epochs=1, progress=False, device="cpu")


def test_cli_finetune_on_gue_folder(tmp_path, random_dna_dir, rng, capsys):
    from bioLM.cli import main

    task = gc_task(rng, "classification", sizes=(16, 8, 8))
    folder = tmp_path / "gue"
    folder.mkdir()
    for split, name in (("train", "train"), ("validation", "dev"), ("test", "test")):
        rows = zip(task.splits[split].sequences, task.splits[split].labels)
        (folder / f"{name}.csv").write_text("sequence,label\n" + "".join(f"{s},{y}\n" for s, y in rows))
    code = main(["finetune", "--model", str(random_dna_dir), "--task", str(folder), "--out", str(tmp_path / "o"),
                 "--max-epochs", "1", "--device", "cpu"])
    out = capsys.readouterr().out
    printed = json.loads(out[out.index('{\n  "out"'):])  # after the progress bar
    assert code == 0 and printed["kind"] == "classification" and "auroc" in printed["metrics"]["test"]
    assert (tmp_path / "o" / "config.json").is_file() and (tmp_path / "o" / "tokenizer.json").is_file()
