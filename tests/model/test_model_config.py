"""BioLMConfig fields and checks, presets, FLOP counting."""

from __future__ import annotations

import pytest
import torch

from bioLM.errors import ConfigError
from bioLM.model import BioLMConfig, config_from_preset, flops_per_token, measure_matmul_peak
from bioLM.model.flops import matmul_params


def test_vocab_is_padded_to_64_and_tokenizer_size_kept():
    config = BioLMConfig(vocab_size=4101)
    assert config.vocab_size == 4160
    assert config.tokenizer_vocab_size == 4101
    again = BioLMConfig(**config.to_dict())  # reloading a saved config is idempotent
    assert (again.vocab_size, again.tokenizer_vocab_size) == (4160, 4101)


def test_hf_alias_names_and_defaults():
    config = BioLMConfig(n_layer=3, n_head=4, n_embd=64, block_size=128)
    assert (config.num_hidden_layers, config.num_attention_heads, config.hidden_size) == (3, 4, 64)
    assert config.max_position_embeddings == 128
    assert config.head_dim == 16
    assert config.intermediate_size == 192  # 8 * 64 / 3 = 170.7 -> 192
    assert BioLMConfig(n_embd=64, n_head=4, mlp="gelu").intermediate_size == 256
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (0, 2, 3)
    assert config.model_type == "biolm"


@pytest.mark.parametrize(("fields", "message"), [
    ({"n_embd": 30, "n_head": 4}, "n_embd=30 is not divisible by n_head=4"),
    ({"n_embd": 36, "n_head": 4}, "head size n_embd/n_head=9 must be even"),
    ({"mlp": "relu"}, "mlp='relu' is not one of"),
    ({"n_layer": 0}, "n_layer=0 must be a positive integer"),
    ({"classifier_pooling": "max"}, "classifier_pooling='max'"),
])
def test_bad_config_raises_config_error(fields, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        BioLMConfig(**fields)


def test_presets():
    small = config_from_preset("small", vocab_size=4096)
    assert (small.n_layer, small.n_head, small.n_embd, small.block_size) == (6, 6, 384, 512)
    assert small.vocab_size == 4096 and small.tokenizer_vocab_size == 4096
    tiny = config_from_preset("tiny", vocab_size=9, block_size=64, mlp="gelu")
    assert (tiny.n_layer, tiny.block_size, tiny.mlp, tiny.vocab_size, tiny.tokenizer_vocab_size) == (
        2, 64, "gelu", 64, 9)
    assert config_from_preset("base", vocab_size=4096).n_embd == 768


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown model preset 'huge'; valid presets: base, small, tiny"):
        config_from_preset("huge", vocab_size=10)


def test_unknown_override_names_key():
    with pytest.raises(ConfigError, match=r"unknown model config key\(s\) \['n_layers'\]"):
        config_from_preset("tiny", vocab_size=10, n_layers=3)


def test_flops_per_token_golden_small():
    config = config_from_preset("small", vocab_size=4096)
    # per layer 4*384^2 + 3*384*1024, six layers, plus the 4096 x 384 head
    assert matmul_params(config) == 6 * (4 * 384**2 + 3 * 384 * 1024) + 4096 * 384 == 12_189_696
    assert flops_per_token(config) == 6 * 12_189_696 + 12 * 6 * 384 * 512
    assert flops_per_token(config, seq_len=256) == 6 * 12_189_696 + 12 * 6 * 384 * 256


def test_matmul_params_equals_counted_weights():
    from bioLM.model import BioLMForCausalLM
    for mlp in ("swiglu", "gelu"):
        config = BioLMConfig(vocab_size=64, n_layer=2, n_head=2, n_embd=32, mlp=mlp, tie_word_embeddings=False)
        model = BioLMForCausalLM(config)
        counted = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n)
        assert matmul_params(config) == counted


def test_measure_matmul_peak_is_plausible():
    peak = measure_matmul_peak(torch.float32, "cpu", size=128, repeats=2)
    assert 1e8 < peak < 1e15
