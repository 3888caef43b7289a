"""LoRA fine-tuning: a small PEFT adapter that plain transformers + peft put onto the exported base model and
that reproduces the fine-tuned predictions; the outputs every fine-tuning writes (card, logs, curve, labels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from bioLM.errors import ConfigError
from bioLM.finetuning.finetune import _Encoded, finetune, predict, split_metrics

peft = pytest.importorskip("peft")

IDS = [[2, 5, 6, 7, 8, 6, 6, 7, 3], [2, 5, 5, 8, 8, 5, 8, 3, 0]]

PLAIN = textwrap.dedent("""
    import importlib.abc, json, sys
    class NoBioLM(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "bioLM":
                raise ImportError("bioLM must not be imported here")
    sys.meta_path.insert(0, NoBioLM())
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification
    base, adapter, ids = sys.argv[1], sys.argv[2], torch.tensor(json.loads(sys.argv[3]))
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    model = PeftModel.from_pretrained(model, adapter).eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=(ids != 0).long()).logits
    print(json.dumps(logits.tolist()))
""")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer
    from bioLM.training.export import export_model

    tokenizer = build_tokenizer("char")
    torch.manual_seed(0)
    config = config_from_preset("tiny", len(tokenizer), n_layer=2, n_head=2, n_embd=32, block_size=64)
    return export_model(BioLMForCausalLM(config), tokenizer, tmp_path_factory.mktemp("base") / "model")


@pytest.fixture(scope="module")
def lora_run(export_dir, tmp_path_factory):
    from test_finetune import gc_task

    task = gc_task(np.random.default_rng(0), "classification", sizes=(64, 24, 24))
    out = tmp_path_factory.mktemp("lora") / "adapter"
    result = finetune(export_dir, task, out, lora=True, lora_rank=2, learning_rate=3e-3, max_epochs=3,
                      patience=2, batch_size=16, progress=False, device="cpu")
    return task, out, result


def test_adapter_is_small_and_reloads_to_the_same_predictions(export_dir, lora_run) -> None:
    from bioLM.finetuning.lora import load_adapter

    task, out, result = lora_run
    assert (out / "adapter_config.json").is_file() and not (out / "config.json").exists()
    adapter_bytes = (out / "adapter_model.safetensors").stat().st_size
    assert adapter_bytes < 0.25 * (export_dir / "model.safetensors").stat().st_size
    model, tokenizer = load_adapter(out)
    assert model.config.id2label == {0: "at_rich", 1: "gc_rich"}
    data = _Encoded(task.splits["test"], tokenizer, 64, "test")
    logits = predict(model, data, pad_id=0, regression=False)
    assert split_metrics("classification", logits, task.splits["test"].labels) == result.metrics["test"]
    assert result.metrics["test"]["accuracy"] > 0.6  # the adapters learned something


@pytest.mark.slow
def test_plain_peft_without_biolm_loads_the_adapter_onto_the_export(export_dir, lora_run) -> None:
    from bioLM.finetuning.lora import load_adapter

    _, out, _ = lora_run
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", PLAIN, str(export_dir), str(out), json.dumps(IDS)], cwd="/",
                          env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = torch.tensor(json.loads(done.stdout.strip().splitlines()[-1]))
    model, _ = load_adapter(out)
    ids = torch.tensor(IDS)
    with torch.no_grad():
        ours = model(input_ids=ids, attention_mask=(ids != 0).long()).logits
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-5)


def test_fine_tuning_writes_card_logs_curve_and_labels(lora_run) -> None:
    task, out, result = lora_run
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["labels"] == ["at_rich", "gc_rich"] and summary["config"]["lora"] is True
    card = (out / "README.md").read_text()
    assert "PeftModel.from_pretrained" in card and "['at_rich', 'gc_rich']" in card and "license" in card
    history = (out / "history.tsv").read_text().splitlines()
    assert history[0].startswith("epoch\ttrain_loss\tval_") and len(history) == 1 + result.epochs
    assert (out / "learning_curve.png").stat().st_size > 1000 and (out / "logs" / "metrics.csv").is_file()
    assert json.loads((out / "biolm.json").read_text())["tokenizer"]["kind"] == "char"


def test_lora_options_are_checked(export_dir, tmp_path) -> None:
    from test_finetune import gc_task

    task = gc_task(np.random.default_rng(1), "classification", sizes=(8, 4, 4))
    with pytest.raises(ConfigError, match="exclude each other"):
        finetune(export_dir, task, tmp_path / "a", lora=True, freeze_backbone=True, progress=False)
    with pytest.raises(ConfigError, match=r"linear layers are named \[.*q_proj"):
        finetune(export_dir, task, tmp_path / "b", lora=True, lora_target_modules=["no_such"], max_epochs=1,
                 progress=False, device="cpu")
