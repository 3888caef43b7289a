"""bioLM GPT <-> Llama conversion: same logits both ways, fused rows split in the right order, refusals."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig

from bioLM.errors import ConfigError
from bioLM.model import BioLMForCausalLM
from bioLM.model.llama import biolm_config, from_llama, llama_config, to_llama


@pytest.mark.parametrize("overrides", [{}, {"tie_word_embeddings": False, "bias": True, "rope_theta": 500.0}])
@torch.no_grad()
def test_round_trip_keeps_logits(tiny_config, tokens, overrides) -> None:
    torch.manual_seed(0)
    model = BioLMForCausalLM(tiny_config(**overrides)).eval()
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or name.endswith("bias"):
            p.uniform_(0.5, 1.5)
    llama = to_llama(model)
    assert llama.config.tie_word_embeddings == model.config.tie_word_embeddings
    torch.testing.assert_close(llama(tokens).logits, model(tokens).logits, rtol=1e-4, atol=1e-5)
    back = from_llama(llama, tokenizer_vocab_size=model.config.tokenizer_vocab_size)
    assert back.config.to_dict() == {**model.config.to_dict(), "architectures": back.config.architectures}
    torch.testing.assert_close(back(tokens).logits, model(tokens).logits)


def test_fused_rows_split_as_q_k_v_and_gate_up(tiny_model) -> None:
    llama = to_llama(tiny_model)
    q, k, v = tiny_model.model.layers[1].attn.qkv.weight.chunk(3)
    gate, up = tiny_model.model.layers[1].mlp.fc.weight.chunk(2)
    layer = llama.model.layers[1]
    for ours, theirs in ((q, layer.self_attn.q_proj), (k, layer.self_attn.k_proj), (v, layer.self_attn.v_proj),
                         (gate, layer.mlp.gate_proj), (up, layer.mlp.up_proj)):
        assert torch.equal(ours, theirs.weight)


def test_gelu_and_unsupported_llamas_are_refused(tiny_config) -> None:
    with pytest.raises(ConfigError, match="no Llama equivalent"):
        llama_config(tiny_config(mlp="gelu"))
    gqa = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=4, num_key_value_heads=2)
    with pytest.raises(ConfigError, match="grouped-query attention"):
        biolm_config(gqa)


@torch.no_grad()
def test_llama_classifier_becomes_a_mean_pooling_biolm_classifier(tiny_model, tmp_path, tokens) -> None:
    from transformers import LlamaForSequenceClassification

    from bioLM.model.llama import classifier_from_llama

    to_llama(tiny_model).save_pretrained(tmp_path)
    llama = LlamaForSequenceClassification.from_pretrained(tmp_path, num_labels=3, pad_token_id=0).eval()
    ours = classifier_from_llama(llama, "mean")
    assert ours.config.classifier_pooling == "mean" and ours.config.num_labels == 3
    assert torch.equal(ours.score.weight, llama.score.weight)
    ours.config.classifier_pooling = "last"  # with Llama's pooling, the two classifiers agree
    torch.testing.assert_close(ours(tokens).logits, llama(tokens).logits, rtol=1e-4, atol=1e-5)
