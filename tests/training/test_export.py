"""Exports are standard Llama directories: plain transformers loads them (no bioLM) with the same logits,
hidden states and cached generation; bioLM reads its own facts back from ``biolm.json``."""

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

from bioLM.model import BioLMConfig, BioLMForCausalLM
from bioLM.tokenization import (
    SPEC_FILE,
    BioLMOverlappingKmerTokenizer,
    bases_per_token,
    build_tokenizer,
    encode_sequence,
    is_biolm_tokenizer,
    load_tokenizer,
    tokenizer_spec,
)
from bioLM.training.export import export_model

IDS = [[2, 5, 6, 7, 8, 9, 5, 5, 6, 8, 7, 12, 5, 6], [2, 8, 8, 7, 6, 5, 9, 9, 5, 6, 7, 8, 5, 3]]

# Runs in a fresh interpreter that refuses to import bioLM: what a colleague without bioLM gets.
PLAIN_SCRIPT = textwrap.dedent("""
    import importlib.abc, json, sys
    class NoBioLM(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "bioLM":
                raise ImportError("bioLM must not be imported here")
    sys.meta_path.insert(0, NoBioLM())
    import numpy as np, torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast
    path, out = sys.argv[1], sys.argv[2]
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    ids = torch.tensor(json.loads(sys.argv[3]))
    with torch.no_grad():
        result = model(ids, output_hidden_states=True)
        generated = model.generate(ids[:1, :5], max_new_tokens=12, do_sample=False, eos_token_id=None,
                                   pad_token_id=0)
    np.savez(out, logits=result.logits.numpy(), hidden=torch.stack(result.hidden_states).numpy(),
             generated=generated.numpy())
    print(json.dumps({"model": type(model).__name__, "model_type": model.config.model_type,
                      "tokenizer_is_fast": isinstance(tokenizer, PreTrainedTokenizerFast),
                      "ids": tokenizer("acgtn")["input_ids"], "decoded": tokenizer.decode([5, 6, 7, 8]),
                      "biolm_imported": any(m.split(".")[0] == "bioLM" for m in sys.modules)}))
""")


def run_plain(script: str, *args: str) -> dict:
    """Run ``script`` with ``args`` in a subprocess without bioLM on its path; its last stdout line as JSON."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd="/", capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def tiny_model(**overrides) -> BioLMForCausalLM:
    """2 layers, width 32, context 64, non-trivial norm weights (a swapped norm would show)."""
    torch.manual_seed(0)
    fields = {"vocab_size": 21, "n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 64, "rope_theta": 500.0}
    model = BioLMForCausalLM(BioLMConfig(**{**fields, **overrides})).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BioLMForCausalLM]:
    model = tiny_model()
    out = export_model(model, build_tokenizer("char"), tmp_path_factory.mktemp("export") / "model",
                       extras={"metrics": {"val_bits_per_base": 1.9}}, step=3)
    return out, model


@pytest.mark.slow
def test_plain_transformers_without_biolm_gets_the_same_model(exported, tmp_path: Path) -> None:
    path, model = exported
    report = run_plain(PLAIN_SCRIPT, str(path), str(tmp_path / "out.npz"), json.dumps(IDS))
    assert report == {"model": "LlamaForCausalLM", "model_type": "llama", "tokenizer_is_fast": True,
                      "ids": [2, 5, 6, 7, 8, 9, 3], "decoded": "ACGT", "biolm_imported": False}
    theirs = np.load(tmp_path / "out.npz")
    ids = torch.tensor(IDS)
    with torch.no_grad():
        ours = model(ids, output_hidden_states=True)
        generated = model.generate(ids[:1, :5], max_new_tokens=12, do_sample=False, eos_token_id=None,
                                   pad_token_id=0, suppress_tokens=[0, 1, 2, 4, *range(21, 64)])  # as exported
    torch.testing.assert_close(torch.from_numpy(theirs["logits"]), ours.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.from_numpy(theirs["hidden"]), torch.stack(ours.hidden_states),
                               rtol=1e-4, atol=1e-5)
    assert torch.equal(torch.from_numpy(theirs["generated"]), generated)  # the KV-cache path


def test_export_files_are_standard_and_biolm_facts_sit_beside_them(exported) -> None:
    path, model = exported
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "llama" and config["architectures"] == ["LlamaForCausalLM"]
    assert config["vocab_size"] == 64 and config["tie_word_embeddings"] is True  # padded rows kept, tied
    assert config["rms_norm_eps"] == model.config.rms_norm_eps and config["rope_parameters"]["rope_theta"] == 500.0
    from safetensors import safe_open

    with safe_open(path / "model.safetensors", "pt") as weights:
        keys = set(weights.keys())
    assert {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight"} <= keys
    assert not any("qkv" in k or "mlp.fc" in k for k in keys)
    tokenizer_config = json.loads((path / "tokenizer_config.json").read_text())
    assert "biolm" not in tokenizer_config and tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    side = json.loads((path / SPEC_FILE).read_text())
    assert side["tokenizer"]["kind"] == "char" and side["tokenizer"]["bases_per_token"][:6] == [0] * 5 + [1]
    assert side["biolm_model_config"]["n_embd"] == 32 and side["training"]["step"] == 3
    assert "bits per base" in (path / "README.md").read_text()
    suppressed = json.loads((path / "generation_config.json").read_text())["suppress_tokens"]
    assert suppressed == [0, 1, 2, 4, *range(21, 64)]  # specials but <eos>, and the padded vocabulary rows


def test_biolm_reads_the_tokenizer_spec_from_the_side_file(exported) -> None:
    from transformers import AutoTokenizer

    path, _ = exported
    original = build_tokenizer("char")
    for tokenizer in (load_tokenizer(path), AutoTokenizer.from_pretrained(str(path))):
        assert is_biolm_tokenizer(tokenizer) and tokenizer_spec(tokenizer) == tokenizer_spec(original)
        np.testing.assert_array_equal(bases_per_token(tokenizer), bases_per_token(original))
        np.testing.assert_array_equal(encode_sequence(tokenizer, "ACGTNRY"), encode_sequence(original, "ACGTNRY"))


def test_overlapping_kmer_export_is_plain_for_transformers_and_overlapping_for_biolm(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    with pytest.warns(UserWarning, match="overlapping"):
        original = build_tokenizer("kmer", k=3, stride=1)
    export_model(tiny_model(vocab_size=len(original)), original, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert json.loads((tmp_path / "m" / SPEC_FILE).read_text())["tokenizer"]["bases_per_token"][5] == 1
    ours = load_tokenizer(tmp_path / "m")
    assert isinstance(ours, BioLMOverlappingKmerTokenizer)
    assert ours("ACGTA")["input_ids"] == original("ACGTA")["input_ids"]
    plain = AutoTokenizer.from_pretrained(str(tmp_path / "m"))  # transformers reads space-separated k-mers
    assert plain("ACG CGT")["input_ids"] == original("ACGT")["input_ids"]


def test_gelu_model_has_no_llama_form_and_stays_biolm(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from transformers import AutoModelForCausalLM

    # a library imported by an earlier test in this worker may have disabled existing loggers (logging.config)
    monkeypatch.setattr(logging.getLogger("bioLM.training.export"), "disabled", False)
    model = tiny_model(mlp="gelu")
    export_model(model, build_tokenizer("char"), tmp_path / "m")
    assert "no Llama equivalent" in caplog.text
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model_type"] == "biolm"
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()  # bioLM is imported in this test
    ids = torch.tensor(IDS)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)


def test_protein_card_speaks_of_residues(tmp_path: Path) -> None:
    tokenizer = build_tokenizer("char", alphabet="protein")
    manifest = {"tokenizer": {"kind": "char", "alphabet": "protein"}, "sources": [], "splits": {}}
    export_model(tiny_model(vocab_size=len(tokenizer)), tokenizer, tmp_path / "m",
                 extras={"manifest": manifest, "metrics": {"val_bits_per_base": 4.1}})
    card = (tmp_path / "m" / "README.md").read_text()
    assert "bits per residue: **4.1000**" in card and "bits per base" not in card
    assert "tags: [biolm, protein" in card and "license" in card


@pytest.mark.parametrize("kind", ["kmer", "bpe"])
def test_kmer_and_bpe_exports_tokenize_alike_in_plain_transformers(kind: str, tmp_path: Path) -> None:
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    rng = np.random.default_rng(0)
    from bioLM.synthetic import random_dna

    sequences = [random_dna(2000, rng) for _ in range(3)]
    original = build_tokenizer(kind, k=3, vocab_size=300, sequences=sequences)
    export_model(tiny_model(vocab_size=len(original)), original, tmp_path / "m")
    plain = AutoTokenizer.from_pretrained(str(tmp_path / "m"))
    assert type(plain) is PreTrainedTokenizerFast or type(plain).__name__ == "TokenizersBackend"
    text = sequences[0][:300]
    assert plain(text, add_special_tokens=False)["input_ids"] == encode_sequence(original, text).tolist()
    assert tokenizer_spec(load_tokenizer(tmp_path / "m")) == tokenizer_spec(original)
