"""bioLM's model stepped one token per lane with a preallocated (static) KV cache: the compressor's hot loop.

Same context rule as :class:`bioLM.compression.stepper.LaneStepper` (``<bos>`` first, re-prime over the last
``context // 2`` fed tokens when the cache is full), but without Hugging Face's per-call machinery: the
weights of :class:`bioLM.model.BioLMForCausalLM` are used directly, keys and values are written in place into
``(L, H, context, D)`` buffers, every lane is at the same position (one RoPE row per step) and only the
coding alphabet's rows of the output matrix are multiplied. Per-step Python work is constant: it does not
grow with the position. Encoder and decoder run exactly this code with the same shapes, so their
probabilities are bit-identical on one machine and thread count.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bioLM.compression.stepper import reprime_size
from bioLM.tokenization.special import BOS_ID


class StaticLaneStepper:
    """Feeds one token per lane per step; returns next-token logits of the coding alphabet ``(L, V)`` fp32."""

    def __init__(self, model, alphabet_ids: np.ndarray, lanes: int, context: int, start_id: int = BOS_ID) -> None:
        from bioLM.model.modeling import rope_cos_sin

        self.start_id = start_id
        config = model.config
        self.model, self.lanes, self.context = model, lanes, context
        self.keep = reprime_size(context)
        self.n_head, self.head_dim = config.n_head, config.n_embd // config.n_head
        self.eps, self.gated = config.rms_norm_eps, config.mlp == "swiglu"
        self.columns = torch.as_tensor(alphabet_ids, dtype=torch.long)
        positions = torch.arange(context)[None]  # (1, context)
        cos, sin = rope_cos_sin(positions, self.head_dim, config.rope_theta)  # (1, 1, context, D)
        self.cos, self.sin = cos[0, 0], sin[0, 0]  # (context, D)
        shape = (lanes, self.n_head, context, self.head_dim)
        self.keys = [torch.zeros(shape) for _ in range(config.n_layer)]
        self.values = [torch.zeros(shape) for _ in range(config.n_layer)]
        self.fed = torch.zeros(lanes, context, dtype=torch.long)  # tokens at each cache position
        self.position = 0

    def start(self) -> torch.Tensor:
        """Feed ``<bos>`` to every lane; logits ``(L, V_alphabet)``."""
        self.position = 0
        return self.feed(torch.full((self.lanes,), self.start_id, dtype=torch.long))

    def feed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens`` (``(L,)`` ids) and return the next-token logits ``(L, V_alphabet)``."""
        if self.position + 1 > self.context:
            inputs = torch.cat([self.fed[:, self.context - self.keep + 1:], tokens[:, None]], 1)  # (L, keep)
            self.fed[:, :self.keep] = inputs
            self.position = self.keep
            return self._forward(inputs, 0)
        self.fed[:, self.position] = tokens
        self.position += 1
        return self._forward(tokens[:, None], self.position - 1)

    def _forward(self, tokens: torch.Tensor, start: int) -> torch.Tensor:
        """tokens (L, T) at positions ``start .. start + T - 1`` -> logits of the last position (L, V)."""
        weights = self.model.model
        L, T = tokens.shape
        H, D = self.n_head, self.head_dim
        x = F.embedding(tokens, weights.embed_tokens.weight)  # (L, T, C)
        cos, sin = self.cos[start:start + T, None], self.sin[start:start + T, None]  # (T, 1, D)
        end = start + T
        for index, layer in enumerate(weights.layers):
            h = F.rms_norm(x, (x.shape[-1],), layer.attn_norm.weight, self.eps)
            qkv = layer.attn.qkv(h).view(L, T, 3, H, D)
            qk = qkv[:, :, :2].reshape(L, T, 2 * H, D)  # queries and keys rotated together
            half = D // 2
            rotated = torch.cat((-qk[..., half:], qk[..., :half]), dim=-1)
            qk = (qk * cos + rotated * sin).view(L, T, 2, H, D)
            q = qk[:, :, 0].transpose(1, 2)  # (L, H, T, D)
            self.keys[index][:, :, start:end] = qk[:, :, 1].transpose(1, 2)
            self.values[index][:, :, start:end] = qkv[:, :, 2].transpose(1, 2)
            y = F.scaled_dot_product_attention(q, self.keys[index][:, :, :end], self.values[index][:, :, :end],
                                               is_causal=T > 1)  # (L, H, T, D)
            x = x + layer.attn.proj(y.transpose(1, 2).reshape(L, T, H * D))
            h = layer.mlp.fc(F.rms_norm(x, (x.shape[-1],), layer.mlp_norm.weight, self.eps))
            if self.gated:
                gate, up = h.chunk(2, dim=-1)
                h = F.silu(gate) * up
            else:
                h = F.gelu(h)
            x = x + layer.mlp.proj(h)
        last = F.rms_norm(x[:, -1], (x.shape[-1],), weights.norm.weight, self.eps)  # (L, C)
        return F.linear(last, self.model.lm_head.weight[self.columns])  # (L, V_alphabet)
