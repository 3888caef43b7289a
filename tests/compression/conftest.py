"""Tiny models for the compression tests: a random-init one, another seed, and one trained for seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bioLM.synthetic import markov_dna


def save_tiny_model(directory: Path, seed: int, train_on: str | None = None, steps: int = 0,
                    kind: str = "char", **tokenizer_kwargs) -> Path:
    """A 2-layer, width-32, context-64 BioLM model with a DNA tokenizer (char by default), saved to ``directory``."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer, encode_sequence

    tokenizer = build_tokenizer(kind, alphabet="dna", **tokenizer_kwargs)
    config = config_from_preset("tiny", len(tokenizer), n_embd=32, n_head=2, block_size=64)
    torch.manual_seed(seed)
    model = BioLMForCausalLM(config)
    if train_on is not None:
        ids = torch.as_tensor(np.asarray(encode_sequence(tokenizer, train_on), dtype=np.int64))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            starts = torch.randint(0, len(ids) - 64, (16,), generator=generator)
            batch = torch.stack([ids[s:s + 64] for s in starts.tolist()])  # (16, 64)
            loss = model(input_ids=batch, labels=batch).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny_model"), seed=0)


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("other_model"), seed=1)


@pytest.fixture(scope="session")
def kmer_model_dir(tmp_path_factory) -> Path:
    """A random-init tiny model with a non-overlapping 3-mer tokenizer."""
    return save_tiny_model(tmp_path_factory.mktemp("kmer_model"), seed=3, kind="kmer", k=3)


@pytest.fixture(scope="session")
def coding_model(tiny_model_dir):
    from bioLM.compression import CodingModel

    return CodingModel(tiny_model_dir)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory) -> tuple[Path, np.random.Generator]:
    """A tiny model trained for a few seconds on an order-2 Markov source (seed 7)."""
    text = markov_dna(30_000, np.random.default_rng(7), order=2)
    return save_tiny_model(tmp_path_factory.mktemp("trained_model"), seed=2, train_on=text, steps=30)
