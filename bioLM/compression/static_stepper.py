"""bioLM's model stepped one token per lane with a preallocated (static) KV cache: the compressor's hot loop.

``<bos>`` first, then a sliding window: every prediction sees the last ``context`` fed tokens in every layer
(a ring of keys and values; no re-priming, unlike the generic :class:`bioLM.compression.stepper.LaneStepper`,
whose cache restarts from the last ``context // 2`` tokens when full and so recomputes half the tokens again).
Measured on E. coli W with a model trained at context 256: the window gives slightly fewer bits than re-priming
at the same context and is 1.2x faster at context 64 (benchmarks/RESULTS.md). No Hugging Face per-call
machinery: the weights of :class:`bioLM.model.BioLMForCausalLM` are prepared once (:class:`StepWeights`: RMSNorm weights and
the attention scale folded into the next matmul, RoPE's ``rotate_half`` folded into extra rows of the QKV
matrix, only the coding alphabet's rows of the output matrix kept), keys and values are written in place into
preallocated ring buffers, every lane is at the same position (one RoPE row per step). Per-step work is a fixed
list of ~20 torch ops per layer: it does not grow with the position.

``dtype``: fp32, or bf16 where the CPU has bf16 matrix units (:func:`bioLM.hardware.fast_bf16`): matmul
weights and the KV cache in bf16 (the residual stream and norms stay fp32) halve the cache reads that bound a
step and run the matmuls on AMX; attention is SDPA's fused CPU kernel (faster than batched matmuls for one
query, measured). Encoder and decoder run exactly this code with the same shapes and dtype on one torch thread, so
their probabilities are bit-identical on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bioLM.tokenization.special import BOS_ID

STEPPER_VERSION = 3
"""Stored in the container: files made by another version of this arithmetic are refused, not mis-decoded."""


@dataclass
class LayerWeights:
    """One block's weights for stepping (``C`` = width, ``H``/``D`` heads/head width, rows of ``qkv``: rotated
    q·scale and k, their ``rotate_half`` images, then v)."""

    qkv: torch.Tensor  # (5C, C), attn_norm folded in
    qkv_bias: torch.Tensor | None
    proj: torch.Tensor  # (C, C)
    proj_bias: torch.Tensor | None
    fc: torch.Tensor  # (2I or I, C), mlp_norm folded in
    fc_bias: torch.Tensor | None
    down: torch.Tensor  # (C, I)
    down_bias: torch.Tensor | None


def _half_rotated(w: torch.Tensor, heads: int) -> torch.Tensor:
    """Rows of ``w`` (``(heads * D, ...)``) permuted and signed as ``rotate_half`` does per head."""
    blocks = w.reshape(heads, 2, -1, *w.shape[1:])  # (H, 2, D/2, ...)
    return torch.stack((-blocks[:, 1], blocks[:, 0]), 1).reshape(w.shape)


class StepWeights:
    """The model's weights prepared for :class:`StaticLaneStepper` in ``dtype`` (see the module docstring)."""

    def __init__(self, model, alphabet_ids: np.ndarray, dtype: torch.dtype) -> None:
        config, base = model.config, model.model
        C, H = config.n_embd, config.n_head
        scale = (C // H) ** -0.5
        cast = lambda t: None if t is None else t.detach().to(dtype).contiguous()  # noqa: E731
        self.embed = base.embed_tokens.weight.detach().float()  # the residual stream stays fp32
        self.layers = []
        for layer in base.layers:
            w, b = layer.attn.qkv.weight.detach().float(), layer.attn.qkv.bias
            qk = torch.cat((w[:C] * scale, w[C:2 * C]))  # (2C, C)
            rows = torch.cat((qk, _half_rotated(qk, 2 * H), w[2 * C:])) * layer.attn_norm.weight.detach().float()
            bias = None
            if b is not None:
                b = b.detach().float()
                bq = torch.cat((b[:C] * scale, b[C:2 * C]))
                bias = torch.cat((bq, _half_rotated(bq, 2 * H), b[2 * C:]))
            fc = layer.mlp.fc.weight.detach().float() * layer.mlp_norm.weight.detach().float()
            self.layers.append(LayerWeights(cast(rows), cast(bias), cast(layer.attn.proj.weight),
                                            cast(layer.attn.proj.bias), cast(fc), cast(layer.mlp.fc.bias),
                                            cast(layer.mlp.proj.weight), cast(layer.mlp.proj.bias)))
        columns = torch.as_tensor(alphabet_ids, dtype=torch.long)
        self.head = cast(model.lm_head.weight.detach().float()[columns] * base.norm.weight.detach().float())


class StaticLaneStepper:
    """Feeds one token per lane per step; returns next-token logits of the coding alphabet ``(L, V)`` fp32.

    Sliding window: step ``p`` writes its key and value into slot ``p % context`` of a ring and its query
    attends to every filled slot, i.e. to positions ``p - context + 1 .. p`` (in every layer). RoPE angles are
    absolute (``p * inv_freq`` reduced mod 2 pi in float64, then cast), so the scores depend only on the distance
    between positions, as in training; slot order does not matter to attention."""

    def __init__(self, model, alphabet_ids: np.ndarray, lanes: int, context: int, start_id: int = BOS_ID,
                 dtype: torch.dtype = torch.float32) -> None:
        config = model.config
        self.model, self.alphabet_ids, self.dtype = model, alphabet_ids, dtype
        self.start_id, self.lanes, self.context = start_id, lanes, context
        self.n_head, self.head_dim, self.width = config.n_head, config.n_embd // config.n_head, config.n_embd
        self.eps, self.gated = config.rms_norm_eps, config.mlp == "swiglu"
        self.inv_freq = 1.0 / config.rope_theta ** (np.arange(0, self.head_dim, 2) / self.head_dim)  # float64
        shape = (lanes, self.n_head, context, self.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [torch.zeros(shape, dtype=dtype) for _ in range(config.n_layer)]
        self.position = 0
        self._parameters = list(model.parameters())  # walking the module tree every step costs ~4%
        self._versions: tuple[int, ...] | None = None
        self.weights = self._current_weights()

    def _current_weights(self) -> StepWeights:
        """Prepared weights, rebuilt when the model's parameters changed in place (adaptive coding trains them)."""
        versions = tuple(p._version for p in self._parameters)
        if versions != self._versions:
            self.weights, self._versions = StepWeights(self.model, self.alphabet_ids, self.dtype), versions
        return self.weights

    def rope(self, position: int) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin ``(1, 2C)`` of ``position`` for q and k of every head (Llama layout: halves repeated)."""
        angles = np.mod(position * self.inv_freq, 2 * np.pi)  # float64: exact for any genome length
        angles = np.tile(np.concatenate([angles, angles]), 2 * self.n_head)
        return (torch.as_tensor(np.cos(angles), dtype=torch.float32).to(self.dtype)[None],
                torch.as_tensor(np.sin(angles), dtype=torch.float32).to(self.dtype)[None])

    def start(self) -> torch.Tensor:
        """Feed ``<bos>`` to every lane; logits ``(L, V_alphabet)``."""
        self.position = 0
        return self.feed(torch.full((self.lanes,), self.start_id, dtype=torch.long))

    def feed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens`` (``(L,)`` ids) at the next position; the next-token logits ``(L, V_alphabet)``."""
        weights = self._current_weights()
        C, slot = self.width, self.position % self.context
        filled = min(self.position + 1, self.context)
        cos, sin = self.rope(self.position)
        self.position += 1
        x = F.embedding(tokens, weights.embed)  # (L, C) fp32
        for index, layer in enumerate(weights.layers):
            out = F.linear(self._normed(x), layer.qkv, layer.qkv_bias)  # (L, 5C)
            qk = torch.addcmul(out[:, :2 * C] * cos, out[:, 2 * C:4 * C], sin)  # RoPE'd q, k (L, 2C)
            qk = qk.view(-1, 2, self.n_head, 1, self.head_dim)  # (L, 2, H, 1, D)
            self.keys[index][:, :, slot:slot + 1] = qk[:, 1]
            self.values[index][:, :, slot:slot + 1] = out[:, 4 * C:].view(-1, self.n_head, 1, self.head_dim)
            y = F.scaled_dot_product_attention(qk[:, 0], self.keys[index][:, :, :filled],
                                               self.values[index][:, :, :filled],
                                               scale=1.0)  # (L, H, 1, D); q is already scaled by 1/sqrt(D)
            x = x + F.linear(y.view(-1, C), layer.proj, layer.proj_bias)
            h = F.linear(self._normed(x), layer.fc, layer.fc_bias)
            if self.gated:
                gate, up = h.chunk(2, dim=-1)
                h = F.silu(gate) * up
            else:
                h = F.gelu(h)
            x = x + F.linear(h, layer.down, layer.down_bias)
        return F.linear(self._normed(x), weights.head).float()  # (L, V_alphabet)

    def _normed(self, x: torch.Tensor) -> torch.Tensor:
        """RMSNorm without its weight (folded into the next matrix) of the fp32 residual ``x``, in ``dtype``."""
        return F.rms_norm(x, (self.width,), eps=self.eps).to(self.dtype)
