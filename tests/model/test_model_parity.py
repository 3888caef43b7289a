"""The math against a reference: transformers' Llama with the same tiny shape and copied weights.

Also: bf16 autocast forward/backward, GELU variant, gradient checkpointing, weight init.
"""

from __future__ import annotations

import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bioLM.model import BioLMForCausalLM


def llama_like(model: BioLMForCausalLM) -> LlamaForCausalLM:
    """A LlamaForCausalLM with ``model``'s shape and weights (q,k,v and gate,up split from the fused ones)."""
    c = model.config
    reference = LlamaForCausalLM(LlamaConfig(
        vocab_size=c.vocab_size, hidden_size=c.n_embd, intermediate_size=c.intermediate_size,
        num_hidden_layers=c.n_layer, num_attention_heads=c.n_head, num_key_value_heads=c.n_head,
        max_position_embeddings=c.block_size, rms_norm_eps=c.rms_norm_eps, rope_theta=c.rope_theta,
        tie_word_embeddings=False, attention_bias=False, mlp_bias=False, attn_implementation="eager",
        pad_token_id=0, bos_token_id=2, eos_token_id=3)).eval()
    with torch.no_grad():
        reference.model.embed_tokens.weight.copy_(model.model.embed_tokens.weight)
        reference.lm_head.weight.copy_(model.lm_head.weight)
        reference.model.norm.weight.copy_(model.model.norm.weight)
        for ours, theirs in zip(model.model.layers, reference.model.layers):
            q, k, v = ours.attn.qkv.weight.chunk(3, dim=0)
            theirs.self_attn.q_proj.weight.copy_(q)
            theirs.self_attn.k_proj.weight.copy_(k)
            theirs.self_attn.v_proj.weight.copy_(v)
            theirs.self_attn.o_proj.weight.copy_(ours.attn.proj.weight)
            gate, up = ours.mlp.fc.weight.chunk(2, dim=0)
            theirs.mlp.gate_proj.weight.copy_(gate)
            theirs.mlp.up_proj.weight.copy_(up)
            theirs.mlp.down_proj.weight.copy_(ours.mlp.proj.weight)
            theirs.input_layernorm.weight.copy_(ours.attn_norm.weight)
            theirs.post_attention_layernorm.weight.copy_(ours.mlp_norm.weight)
    return reference


@pytest.fixture
def untied_model(tiny_config) -> BioLMForCausalLM:
    torch.manual_seed(0)
    model = BioLMForCausalLM(tiny_config(tie_word_embeddings=False, rope_theta=500.0)).eval()
    with torch.no_grad():  # non-trivial norm weights, so a swapped norm would show
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return model


@torch.no_grad()
def test_logits_match_llama(untied_model, tokens):
    reference = llama_like(untied_model)
    torch.testing.assert_close(untied_model(tokens).logits, reference(tokens).logits, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_cached_decoding_matches_llama(untied_model, tokens):
    reference = llama_like(untied_model)
    ours = untied_model.generate(tokens[:, :5], max_new_tokens=10, do_sample=False, eos_token_id=None,
                                 pad_token_id=0)
    theirs = reference.generate(tokens[:, :5], max_new_tokens=10, do_sample=False, eos_token_id=None,
                                pad_token_id=0)
    assert torch.equal(ours, theirs)


def test_bf16_autocast_forward_backward(tiny_model, tokens):
    tiny_model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = tiny_model(tokens, labels=tokens)
    assert out.logits.dtype == torch.bfloat16
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in tiny_model.parameters()]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    fp32_loss = tiny_model(tokens, labels=tokens).loss
    assert abs(out.loss.item() - fp32_loss.item()) < 0.05


def test_gelu_variant_trains(tiny_config, tokens):
    torch.manual_seed(0)
    model = BioLMForCausalLM(tiny_config(mlp="gelu", bias=True, dropout=0.1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        loss = model(tokens, labels=tokens).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_gradient_checkpointing_gives_same_gradients(tiny_config, tokens):
    torch.manual_seed(0)
    plain = BioLMForCausalLM(tiny_config()).train()
    checkpointed = BioLMForCausalLM(tiny_config()).train()
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.activation_checkpointing_enable()
    assert checkpointed.model.layers[0].gradient_checkpointing
    for model in (plain, checkpointed):
        model(tokens, labels=tokens).loss.backward()
    for (name, a), b in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_init_follows_gpt2(tiny_config):
    torch.manual_seed(0)
    config = tiny_config(n_embd=256, n_head=4, n_layer=8, tie_word_embeddings=False)
    model = BioLMForCausalLM(config)
    layer = model.model.layers[0]
    assert abs(layer.attn.qkv.weight.std().item() - 0.02) < 0.002
    assert abs(layer.attn.proj.weight.std().item() - 0.02 / math.sqrt(16)) < 0.001
    assert abs(layer.mlp.proj.weight.std().item() - 0.02 / math.sqrt(16)) < 0.001
    assert abs(model.lm_head.weight.std().item() - 0.02) < 0.002
    assert torch.equal(layer.attn_norm.weight, torch.ones(256))


@torch.no_grad()
def test_bf16_weights_forward_and_padded_generate(tiny_model, tokens):
    reference = tiny_model(tokens).logits
    model = tiny_model.to(torch.bfloat16)
    logits = model(tokens).logits
    assert logits.dtype == torch.bfloat16
    torch.testing.assert_close(logits.float(), reference, rtol=0.05, atol=0.05)
    mask = torch.tensor([[1] * 8, [0] * 3 + [1] * 5])
    out = model.generate(tokens[:, :8], attention_mask=mask, max_new_tokens=3, do_sample=False,
                         eos_token_id=None, pad_token_id=0)
    assert out.shape == (2, 11)
