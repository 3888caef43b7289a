"""A tiny random-init bioLM model (context 32) with a DNA char tokenizer, saved once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

CONTEXT = 32  # tokens, <bos> included


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    directory = tmp_path_factory.mktemp("tiny_model")
    tokenizer = build_tokenizer("char", alphabet="dna")
    config = config_from_preset("tiny", len(tokenizer), block_size=CONTEXT, n_embd=32)
    torch.manual_seed(0)
    BioLMForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def loaded(model_dir):
    from bioLM.embedding import load

    return load(model_dir, device="cpu")
