"""The CPU causal-attention path used by compile_blocks: flash forward + chunked recomputing backward.

Checked in eager mode (the same code torch.compile traces) against SDPA's gradients in float32.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bioLM.model import BioLMForCausalLM
from bioLM.model.modeling import _causal_attention_backward, _CPUCausalAttention


def _qkv(t: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, t, 16, generator=gen) for _ in range(3)]  # (B, H, T, D)


@pytest.mark.parametrize("t", [40, 128])
def test_cpu_causal_attention_matches_sdpa_gradients(t):
    q, k, v = _qkv(t)
    grad = torch.randn(2, 3, t, 16, generator=torch.Generator().manual_seed(1))
    ref = [x.clone().requires_grad_() for x in (q, k, v)]
    F.scaled_dot_product_attention(*ref, is_causal=True).backward(grad)
    ours = [x.to(torch.bfloat16).requires_grad_() for x in (q, k, v)]
    out = _CPUCausalAttention.apply(*ours)
    out.backward(grad.to(torch.bfloat16))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out.float(), expected, atol=3e-2, rtol=3e-2)
    for mine, theirs in zip(ours, ref):
        torch.testing.assert_close(mine.grad.float(), theirs.grad, atol=6e-2, rtol=5e-2)


def test_backward_chunks_agree_and_skip_nothing():
    """Chunk sizes that do not divide T give the same gradients as one chunk (no key or query dropped)."""
    q, k, v = _qkv(37, seed=2)
    grad = torch.randn(2, 3, 37, 16, generator=torch.Generator().manual_seed(3))
    out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, True)[:2]
    whole = _causal_attention_backward(grad, q, k, v, out, lse, 16**-0.5, chunk=37)
    parts = _causal_attention_backward(grad, q, k, v, out, lse, 16**-0.5, chunk=10)
    for a, b in zip(whole, parts):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    ref = [x.clone().requires_grad_() for x in (q, k, v)]
    F.scaled_dot_product_attention(*ref, is_causal=True).backward(grad)
    for a, b in zip(parts, ref):
        torch.testing.assert_close(a, b.grad, atol=1e-4, rtol=1e-4)


def test_fast_path_model_gradients_match_sdpa(tiny_config, tokens):
    """A model with the fast path switched on (as compile_blocks does) trains like the plain SDPA model."""
    torch.manual_seed(0)
    plain = BioLMForCausalLM(tiny_config()).train()
    fast = BioLMForCausalLM(tiny_config()).train()
    fast.load_state_dict(plain.state_dict())
    for layer in fast.model.layers:
        layer.attn.compiled_cpu_backward = True
    losses = []
    for model in (plain, fast):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], abs=2e-2)
    for (name, a), b in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=2e-2, rtol=0.1, msg=name)


def test_fast_path_not_used_with_padding_mask_or_cache(tiny_model, tokens):
    attn = tiny_model.model.layers[0].attn
    attn.compiled_cpu_backward = True
    q = torch.zeros(1, 2, 4, 16, dtype=torch.bfloat16, requires_grad=True)
    assert attn._use_cpu_causal(q, None, True, None)
    assert not attn._use_cpu_causal(q, torch.ones(1, 1, 4, 4, dtype=torch.bool), False, None)
    assert not attn._use_cpu_causal(q.detach(), None, True, None)
    assert not attn._use_cpu_causal(q.float(), None, True, None)
