"""Fixtures of the model tests: a tiny seeded BioLM config and model (2 layers, width 32, context 64)."""

from __future__ import annotations

import pytest
import torch

from bioLM.model import BioLMConfig, BioLMForCausalLM


def make_tiny_config(**overrides) -> BioLMConfig:
    """2 layers, width 32, 2 heads, context 64, 20-token vocabulary (padded to 64)."""
    fields = {"vocab_size": 20, "n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 64}
    return BioLMConfig(**{**fields, **overrides})


@pytest.fixture
def tiny_config():
    """Factory: tiny_config(**overrides) -> BioLMConfig."""
    return make_tiny_config


@pytest.fixture
def tiny_model() -> BioLMForCausalLM:
    torch.manual_seed(0)
    return BioLMForCausalLM(make_tiny_config()).eval()


@pytest.fixture
def tokens() -> torch.Tensor:
    """(2, 16) ids of real tokens (5..19), seeded."""
    return torch.randint(5, 20, (2, 16), generator=torch.Generator().manual_seed(1))
