"""Hugging Face integration: save_pretrained / from_pretrained, Auto classes, fresh-process loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

from bioLM.model import BioLMConfig, BioLMForCausalLM, BioLMForSequenceClassification, BioLMModel

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("tie", [True, False])
def test_save_load_round_trip_identical_logits(tmp_path, tiny_config, tokens, tie):
    torch.manual_seed(0)
    model = BioLMForCausalLM(tiny_config(tie_word_embeddings=tie)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, BioLMForCausalLM)
    assert loaded.config.tie_word_embeddings is tie
    assert (loaded.lm_head.weight is loaded.model.embed_tokens.weight) is tie
    with torch.no_grad():
        assert torch.equal(model(tokens).logits, loaded(tokens).logits)


def test_auto_config_and_base_model(tmp_path, tiny_model, tokens):
    tiny_model.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, BioLMConfig) and config.tokenizer_vocab_size == 20
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(base, BioLMModel)
    with torch.no_grad():
        expected = tiny_model.model(tokens).last_hidden_state
        torch.testing.assert_close(base(tokens).last_hidden_state, expected, rtol=0, atol=0)


@pytest.mark.slow
def test_fresh_process_loads_with_auto_class(tmp_path, tiny_model, tokens):
    tiny_model.save_pretrained(tmp_path)
    with torch.no_grad():
        expected = tiny_model(tokens).logits
    torch.save({"tokens": tokens, "logits": expected}, tmp_path / "expected.pt")
    script = (
        "import sys, torch\n"
        "import bioLM.model\n"
        "from transformers import AutoModelForCausalLM\n"
        "d = sys.argv[1]\n"
        "m = AutoModelForCausalLM.from_pretrained(d).eval()\n"
        "e = torch.load(d + '/expected.pt', weights_only=True)\n"
        "with torch.no_grad():\n"
        "    assert torch.equal(m(e['tokens']).logits, e['logits'])\n"
        "print(type(m).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "BioLMForCausalLM"


def test_sequence_classifier_from_pretrained_lm(tmp_path, tiny_model, tokens):
    tiny_model.save_pretrained(tmp_path)
    clf = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=3).eval()
    assert isinstance(clf, BioLMForSequenceClassification)
    torch.testing.assert_close(clf.model.embed_tokens.weight, tiny_model.model.embed_tokens.weight)
    out = clf(tokens, labels=torch.tensor([0, 2]))
    assert out.logits.shape == (2, 3) and out.loss.ndim == 0
    clf.save_pretrained(tmp_path / "clf")
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "clf").eval()
    with torch.no_grad():
        assert torch.equal(again(tokens).logits, clf(tokens).logits)
