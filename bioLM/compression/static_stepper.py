"""bioLM's model stepped one token per lane with a preallocated (static) KV cache: the compressor's hot loop.

Same context rule as :class:`bioLM.compression.stepper.LaneStepper` (``<bos>`` first, re-prime over the last
``context // 2`` fed tokens when the cache is full), but without Hugging Face's per-call machinery: the
weights of :class:`bioLM.model.BioLMForCausalLM` are prepared once (:class:`StepWeights`: RMSNorm weights and
the attention scale folded into the next matmul, RoPE's ``rotate_half`` folded into extra rows of the QKV
matrix, only the coding alphabet's rows of the output matrix kept), keys and values are written in place into
preallocated buffers, every lane is at the same position (one RoPE row per step). Per-step work is a fixed
list of ~20 torch ops per layer: it does not grow with the position.

``dtype``: fp32, or bf16 where the CPU has bf16 matrix units (:func:`bioLM.hardware.fast_bf16`): matmul
weights and the KV cache in bf16 (the residual stream and norms stay fp32) halve the cache reads that bound a
step and run the matmuls on AMX; attention is SDPA's fused CPU kernel (faster than batched matmuls for one
query, measured). Encoder and decoder run exactly this code with the same shapes, dtype and lane groups, so
their probabilities are bit-identical on one machine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bioLM.compression.stepper import reprime_size
from bioLM.tokenization.special import BOS_ID

STEPPER_VERSION = 2
"""Stored in the container: files made by another version of this arithmetic are refused, not mis-decoded."""
REPRIME_TOKENS = 2048
"""Tokens per pass when re-priming (lanes x kept tokens): small enough for the activations to stay in cache."""


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
    """Feeds one token per lane per step; returns next-token logits of the coding alphabet ``(L, V)`` fp32."""

    def __init__(self, model, alphabet_ids: np.ndarray, lanes: int, context: int, start_id: int = BOS_ID,
                 dtype: torch.dtype = torch.float32) -> None:
        from bioLM.model.modeling import rope_cos_sin

        config = model.config
        self.model, self.alphabet_ids, self.dtype = model, alphabet_ids, dtype
        self.start_id, self.lanes, self.context = start_id, lanes, context
        self.keep = reprime_size(context)
        self.n_head, self.head_dim, self.width = config.n_head, config.n_embd // config.n_head, config.n_embd
        self.eps, self.gated = config.rms_norm_eps, config.mlp == "swiglu"
        cos, sin = rope_cos_sin(torch.arange(context)[None], self.head_dim, config.rope_theta)  # (1, 1, ctx, D)
        self.cos = cos[0, 0].repeat(1, 2 * self.n_head).to(dtype)  # (ctx, 2C): q and k of every head
        self.sin = sin[0, 0].repeat(1, 2 * self.n_head).to(dtype)
        shape = (lanes, self.n_head, context, self.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [torch.zeros(shape, dtype=dtype) for _ in range(config.n_layer)]
        self.fed = torch.zeros(lanes, context, dtype=torch.long)  # tokens at each cache position
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
            chunk = max(1, REPRIME_TOKENS // self.keep)  # lanes per pass: activations stay in the CPU's cache
            return torch.cat([self._forward(inputs[first:first + chunk], 0, slice(first, first + chunk))
                              for first in range(0, self.lanes, chunk)])
        self.fed[:, self.position] = tokens
        self.position += 1
        return self._forward(tokens[:, None], self.position - 1)

    def _forward(self, tokens: torch.Tensor, start: int, rows: slice = slice(None)) -> torch.Tensor:
        """tokens (l, T) of the lanes ``rows`` at positions ``start .. start + T - 1`` -> logits of the last
        position (l, V) fp32. The last layer needs keys and values of every position, the rest only of the last."""
        weights = self._current_weights()
        C, T = self.width, tokens.shape[1]
        end = start + T
        x = F.embedding(tokens, weights.embed)  # (l, T, C) fp32
        cos, sin = self.cos[start:end], self.sin[start:end]  # (T, 2C)
        for index, layer in enumerate(weights.layers):
            out = F.linear(self._normed(x), layer.qkv, layer.qkv_bias)  # (l, T, 5C)
            qk = torch.addcmul(out[..., :2 * C] * cos, out[..., 2 * C:4 * C], sin)  # RoPE'd q, k (l, T, 2C)
            qk = qk.view(*qk.shape[:2], 2, self.n_head, self.head_dim)  # (l, T, 2, H, D)
            self._store(index, rows, qk[:, :, 1], out[..., 4 * C:], start, end)
            if index == len(weights.layers) - 1:
                qk, x = qk[:, -1:], x[:, -1:]
            x = x + F.linear(self._attend(index, rows, qk[:, :, 0], end), layer.proj, layer.proj_bias)
            h = F.linear(self._normed(x), layer.fc, layer.fc_bias)
            if self.gated:
                gate, up = h.chunk(2, dim=-1)
                h = F.silu(gate) * up
            else:
                h = F.gelu(h)
            x = x + F.linear(h, layer.down, layer.down_bias)
        return F.linear(self._normed(x[:, -1]), weights.head).float()  # (l, V_alphabet)

    def _normed(self, x: torch.Tensor) -> torch.Tensor:
        """RMSNorm without its weight (folded into the next matrix) of the fp32 residual ``x``, in ``dtype``."""
        return F.rms_norm(x, (self.width,), eps=self.eps).to(self.dtype)

    def _store(self, index: int, rows: slice, k: torch.Tensor, v: torch.Tensor, start: int, end: int) -> None:
        """Write keys ``k`` (l, T, H, D) and values ``v`` (l, T, C) of positions ``start .. end - 1``."""
        self.keys[index][rows, :, start:end] = k.transpose(1, 2)
        self.values[index][rows, :, start:end] = v.view(*v.shape[:2], self.n_head, self.head_dim).transpose(1, 2)

    def _attend(self, index: int, rows: slice, q: torch.Tensor, end: int) -> torch.Tensor:
        """Queries ``q`` (l, Tq, H, D) of the last ``Tq`` positions before ``end`` (``Tq`` = 1 or ``end``) over the
        cached keys and values ``0 .. end - 1`` -> (l, Tq, C)."""
        n, Tq = q.shape[:2]
        y = F.scaled_dot_product_attention(q.transpose(1, 2), self.keys[index][rows, :, :end],
                                           self.values[index][rows, :, :end], is_causal=Tq > 1,
                                           scale=1.0)  # (l, H, Tq, D); q is already scaled by 1/sqrt(D)
        return y.transpose(1, 2).reshape(n, Tq, self.width)


class LaneGroups:
    """``threads`` steppers over consecutive slices of the lanes, fed side by side on Python threads with one
    torch thread each: the same interface as one stepper (``start``, ``feed``), about ``threads`` times the
    throughput on free cores. Each group's arithmetic depends only on its own lanes, so the result does not
    depend on scheduling; it does depend on the grouping, which the container records (``threads``). Unlike
    torch's intra-op threads (which spin at barriers and made coding several times slower on a shared CPU),
    a busy core only delays its group."""

    def __init__(self, make, lanes: int, threads: int) -> None:
        count = max(1, min(threads, lanes))
        q, r = divmod(lanes, count)
        self.sizes = [q + 1 if i < r else q for i in range(count)]
        self.steppers = [make(size) for size in self.sizes]
        self.pool = ThreadPoolExecutor(count - 1, initializer=torch.set_num_threads, initargs=(1,)) \
            if count > 1 else None

    def start(self) -> torch.Tensor:
        """Feed the start token to every lane; logits ``(L, V_alphabet)``."""
        return self._run([None] * len(self.sizes))

    def feed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens`` (``(L,)`` ids); logits ``(L, V_alphabet)``."""
        return self._run(tokens.split(self.sizes))

    def _run(self, parts: list) -> torch.Tensor:
        futures = [self.pool.submit(_step, stepper, part) for stepper, part in zip(self.steppers[1:], parts[1:])]
        first = _step(self.steppers[0], parts[0])
        return torch.cat([first] + [future.result() for future in futures]) if futures else first

    def close(self) -> None:
        """Stop the worker threads."""
        if self.pool is not None:
            self.pool.shutdown()


def _step(stepper: StaticLaneStepper, tokens: torch.Tensor | None) -> torch.Tensor:
    with torch.inference_mode():  # thread-local: set in every worker
        return stepper.start() if tokens is None else stepper.feed(tokens)
