"""The pretraining gain (finetune - scratch) end to end on a tiny pretrained model, and its parts: random
re-initialization, the fine-tuning learning-rate schedule, reverse-complement averaging, probe-layer choice on
the validation split."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from bioLM.alphabet import reverse_complement
from bioLM.benchmark.evaluators import TaskEmbeddings, embedding_lr_best_layer
from bioLM.benchmark.run import run_benchmark
from bioLM.benchmark.suite import Suite
from bioLM.errors import ConfigError
from bioLM.finetuning.finetune import FinetuneConfig, finetune, load_for_task, lr_factor
from bioLM.finetuning.tasks import Task, TaskSplit
from bioLM.synthetic import planted_motif_dataset


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny char-level DNA model trained for 30 next-token steps on planted-motif sequences (not a random init
    that a seeded scratch model could reproduce)."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    directory = tmp_path_factory.mktemp("pretrained")
    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(7)
    model = BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=64, n_embd=32))
    sequences, _, _ = planted_motif_dataset(64, 60, "TATAATGC", np.random.default_rng(3))
    ids = torch.tensor([tokenizer(s, add_special_tokens=False)["input_ids"] for s in sequences])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(30):
        batch = ids[(step % 4) * 16:(step % 4 + 1) * 16]
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def _task(sequences: list[str], labels: np.ndarray) -> Task:
    split = TaskSplit(sequences, np.asarray(labels, dtype=np.int64))
    return Task("t", "classification", {"train": split, "validation": split, "test": split}, ["absent", "present"])


def test_scratch_reinitializes_every_backbone_weight_deterministically(pretrained):
    task = _task(["ACGTACGT", "TTGACA"], [0, 1])
    trained, _, _ = load_for_task(pretrained, task, FinetuneConfig())
    first, _, _ = load_for_task(pretrained, task, FinetuneConfig(from_scratch=True, seed=3))
    again, _, _ = load_for_task(pretrained, task, FinetuneConfig(from_scratch=True, seed=3))
    assert type(first) is type(trained) and first.config.num_labels == 2
    matrices = 0
    for (name, a), b, c in zip(trained.named_parameters(), first.parameters(), again.parameters()):
        assert a.shape == b.shape and torch.equal(b, c), name
        if a.dim() == 2 and not name.startswith("score"):  # norms start at 1 either way
            matrices += 1
            assert not torch.equal(a, b), name
    assert matrices > 4


def test_lr_factor_warms_up_then_decays_to_zero():
    cosine = lr_factor("cosine", 0.1, 100)
    assert cosine(0) < cosine(5) < cosine(9) <= 1.0
    assert cosine(10) == pytest.approx(1.0) and cosine(55) == pytest.approx(0.5, abs=0.02)
    assert cosine(100) == pytest.approx(0.0, abs=1e-9)
    linear = lr_factor("linear", 0.0, 10)
    assert [round(linear(s), 2) for s in (0, 5, 10)] == [1.0, 0.5, 0.0]
    assert lr_factor("constant", 0.0, 10)(7) == 1.0
    with pytest.raises(ConfigError, match="lr_schedule='step'"):
        FinetuneConfig(lr_schedule="step")


def test_reverse_complement_average_scores_both_strands_alike(pretrained, planted, tmp_path):
    sequences, labels = planted(24, seed=1)
    test = sequences[:6] + [reverse_complement(s) for s in sequences[:6]]
    task = _task(sequences, labels)
    task.splits["test"] = TaskSplit(test, np.concatenate([labels[:6], labels[:6]]))
    config = FinetuneConfig(max_epochs=1, batch_size=8, progress=False, device="cpu", precision="fp32",
                            reverse_complement_average=True)
    logits = finetune(pretrained, task, tmp_path / "rc", config).logits["test"]
    np.testing.assert_allclose(logits[:6], logits[6:], atol=1e-5)


def test_probe_layer_is_chosen_on_validation_not_test():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    signal = y[:, None] + 0.3 * rng.normal(size=(80, 4))
    noise = rng.normal(size=(80, 4))
    embeddings = TaskEmbeddings(None, None, [], [])
    # layer 0 predicts validation but not test; layer 1 predicts test but not validation
    embeddings._cache["layers"] = {0: (signal, signal, noise), 1: (signal, noise, signal)}
    _, details = embedding_lr_best_layer(embeddings, y, y, seed=0)
    assert details["layer"] == 0
    assert details["validation_mcc"]["0"] > 0.9 > details["validation_mcc"]["1"]


def test_suite_rejects_unknown_probe_select():
    with pytest.raises(ConfigError, match="probe_select"):
        Suite.from_dict({"model": {"path": "m"}, "probe_select": "test"})


@pytest.fixture(scope="module")
def gain_run(tmp_path_factory, pretrained, motif_task):
    suite = Suite.from_dict({
        "name": "gain", "model": {"path": str(pretrained)},
        "tasks": [{"name": "motif", "path": "tasks/motif", "format": "fasta"}],
        "evaluators": ["embedding-lr", "finetune", "finetune-lora", "scratch"], "baselines": ["kmer-4"],
        "probe_layers": "all", "probe_select": "validation", "rc_average": True, "seeds": [0, 1],
        "budget": {"epochs": 2, "batch_size": 16, "finetune_learning_rate": 1e-3}, "bootstrap": 50,
        "threads": 1, "device": "cpu"})
    out = tmp_path_factory.mktemp("gain")
    run_benchmark(suite, motif_task.parents[1], out)
    return out, json.loads((out / "results.json").read_text())


def test_gain_is_finetune_minus_scratch_with_a_finite_paired_ci(gain_run):
    out, results = gain_run
    (task,) = results["tasks"]
    rows = {r["method"]: r for r in task["rows"]}
    assert set(rows) == {"embedding-lr", "finetune", "finetune-lora", "scratch", "kmer-4"}
    gains = {g["method"]: g for g in task["pretraining_gain"]}
    assert set(gains) == {"finetune", "finetune-lora"}
    for method, gain in gains.items():
        mcc = rows[method]["metrics"]["mcc"]["value"] - rows["scratch"]["metrics"]["mcc"]["value"]
        assert gain["difference"] == pytest.approx(mcc)
        low, high = gain["ci"]
        assert math.isfinite(low) and math.isfinite(high) and low <= gain["difference"] <= high
        assert gain["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "not resolved")
    assert [g["task"] for g in results["summary"]["pretraining_gain"]] == ["motif", "motif"]
    assert {(v["evaluator"], v["baseline"]) for v in results["summary"]["verdicts"]} == {
        (e, "kmer-4") for e in ("embedding-lr", "finetune", "finetune-lora", "scratch")}
    details = rows["finetune"]["details"]
    assert len(details) == 2 and all(0 <= d["best_epoch"] < 2 for d in details)
    (layer, *_) = {d["layer"] for d in rows["embedding-lr"]["details"]}
    assert str(layer) in rows["embedding-lr"]["details"][0]["validation_mcc"]
    assert results["hardware"]["precision_auto"] in ("bf16-mixed", "32-true")
    report = (out / "report.md").read_text()
    assert "## Summary" in report and "| motif | finetune |" in report and "| finetune | scratch |" in report
    assert "probe layer chosen on the validation split" in report
    assert "plots/pretraining_gain.png" in results["plots"] and (out / "plots" / "pretraining_gain.png").is_file()
