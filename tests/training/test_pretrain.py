"""pretrain() end to end on a tiny run: metrics, learning curve, checkpoints, export, faults."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import TINY_RECIPE, tiny_overrides

from bioLM.data.shards import open_split
from bioLM.errors import ConfigError, InputFormatError
from bioLM.synthetic import demo_corpus
from bioLM.training.callbacks import read_losses
from bioLM.training.curves import read_metric_logs
from bioLM.training.export import export_checkpoint, load_checkpoint
from bioLM.training.module import BioLMLightningModule, TrainingDivergedError
from bioLM.training.pretraining import pretrain
from bioLM.training.recipe import Recipe

STEPS = 8


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny training run shared by the tests of this module; returns its out_dir."""
    root = tmp_path_factory.mktemp("run")
    corpus = demo_corpus(root / "corpus.fa", n_records=4, length=3000, seed=1)
    model_dir = pretrain(Recipe.from_yaml(TINY_RECIPE, tiny_overrides(corpus, root / "out", STEPS)))
    assert model_dir == root / "out" / "model"
    return root / "out"


def test_run_folder_has_logs_curve_checkpoint_and_model(run: Path) -> None:
    assert sorted(read_losses(run / "losses.tsv")) == list(range(1, STEPS + 1))
    metrics = read_metric_logs(run)
    for name in ("train_loss", "train_bits_per_base", "val_loss", "val_bits_per_base", "val_bits_per_token",
                 "tokens_per_s", "mfu", "tokens_seen"):
        assert metrics.get(name), name
    assert (run / "learning_curve.png").stat().st_size > 1000
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt")  # weights_only=True
    assert checkpoint["global_step"] == STEPS
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"):
        assert (run / "model" / name).is_file(), name
    card = (run / "model" / "README.md").read_text()
    bpb = checkpoint["biolm"]["metrics"]["val_bits_per_base"]
    assert f"{bpb:.4f}" in card and '"fingerprint"' in card and "max_steps: 8" in card
    source = checkpoint["biolm"]["manifest"]["sources"][0]
    corpus = Path(source["path"])
    assert f"| `{corpus.name}` | {corpus.stat().st_size:,} | 4 | 12,000 | `{source['sha256']}` |" in card
    assert "preset `tiny` as trained: 2 layers, width 32, 2 heads" in card and "validation bits per base" in card
    assert "tags: [biolm, dna, genomics, causal-lm, llama]" in card and "# license:" in card


def test_exported_llama_reproduces_val_bits_per_base(run: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(run / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    assert model.config.model_type == "llama" and type(model).__name__ == "LlamaForCausalLM"
    assert tokenizer.convert_tokens_to_ids("<eos>") == 3
    from bioLM.tokenization import bases_per_token

    bpt = bases_per_token(tokenizer)
    val = open_split(run / "dataset", "val")
    tokens = np.concatenate([np.asarray(t, dtype=np.int64) for t in val.tokens])
    windows = [tokens[i:i + 65] for i in range(0, len(tokens) - 1, 64)][:8]  # trainer.val_max_windows=8
    nats = bases = 0.0
    with torch.no_grad():
        for window in windows:
            ids = torch.from_numpy(window)[None]
            logp = torch.log_softmax(model(input_ids=ids[:, :-1]).logits.float(), -1)
            nats -= logp[0].gather(-1, ids[0, 1:, None]).sum().item()
            bases += bpt[window[1:]].sum()
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt")
    expected = checkpoint["biolm"]["metrics"]["val_bits_per_base"]
    assert nats / math.log(2) / bases == pytest.approx(expected, rel=1e-4)


def test_export_cli_writes_the_same_weights(run: Path, tmp_path: Path) -> None:
    from bioLM.cli import main

    assert main(["export", str(run / "checkpoints" / "last.ckpt"), str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (run / "model" / "model.safetensors").read_bytes()


def test_export_refuses_checkpoints_with_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "biolm": {}, "payload": Path("x")}, path)  # Path needs a real unpickle
    with pytest.raises(InputFormatError, match="cannot read checkpoint safely"):
        export_checkpoint(path, tmp_path / "out")


def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(tmp_path: Path, corpus: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    original = BioLMLightningModule._loss_terms

    def poisoned(self, batch):
        nats, targets, weights = original(self, batch)
        return (nats * math.nan if self.training and self.global_step >= 5 else nats), targets, weights

    monkeypatch.setattr(BioLMLightningModule, "_loss_terms", poisoned)
    out = tmp_path / "out"
    recipe = Recipe.from_yaml(TINY_RECIPE, tiny_overrides(corpus, out, 12))
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at optimizer step 5.*last good checkpoint"):
        pretrain(recipe)
    assert load_checkpoint(out / "checkpoints" / "last.ckpt")["global_step"] == 4
    assert not (out / "model").exists()


def test_dataset_of_another_tokenizer_fails_before_training(tmp_path: Path, corpus: Path) -> None:
    first = tmp_path / "first"
    pretrain(Recipe.from_yaml(TINY_RECIPE, tiny_overrides(corpus, first, 1, **{"trainer.export": "false"})))
    overrides = tiny_overrides(corpus, tmp_path / "second", 1, **{"data.inputs": "[]", "data.tokenizer": "kmer",
                                                                   "data.dataset_dir": str(first / "dataset")})
    with pytest.raises(InputFormatError, match="different tokenizer"):
        pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    assert not (tmp_path / "second" / "checkpoints").exists()


def test_no_inputs_uses_the_demo_corpus_or_is_a_config_error(tmp_path: Path, corpus: Path) -> None:
    overrides = tiny_overrides(corpus, tmp_path / "o", 1, **{"data.inputs": "[]", "data.demo_corpus": "false"})
    with pytest.raises(ConfigError, match="data.inputs is empty"):
        pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    overrides = tiny_overrides(corpus, tmp_path / "demo", 1, **{"data.inputs": "[]", "trainer.export": "false"})
    recipe = Recipe.from_yaml(TINY_RECIPE, overrides)
    pretrain(recipe)  # dna-char-tiny has data.demo_corpus: true
    assert recipe.data.inputs == []  # the caller's recipe is not modified
    manifest = load_checkpoint(tmp_path / "demo" / "checkpoints" / "last.ckpt")["biolm"]["manifest"]
    assert manifest["sources"][0]["path"].endswith("demo_corpus.fa") and manifest["sources"][0]["records"] == 8
