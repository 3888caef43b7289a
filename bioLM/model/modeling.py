"""bioLM's decoder-only GPT, Hugging Face native, in one readable module (nanoGPT-like).

Block: ``x = x + attn(rmsnorm(x)); x = x + mlp(rmsnorm(x))`` (pre-norm). Attention uses a fused QKV
projection, rotary position embeddings (Llama's ``rotate_half`` convention) and
``torch.nn.functional.scaled_dot_product_attention``. MLP: SwiGLU (fused gate+up projection) or GELU.
Shapes: B batch, T new tokens, S = past + T key positions, C = n_embd, H = n_head, D = C // H, V = vocab.

Masking rules (``attention_mask`` is HF's 2D ``(B, S)`` 1/0 mask over past and new tokens):
- no padding and no cache: ``is_causal=True`` (fastest SDPA path);
- otherwise an explicit boolean mask ``(B, 1, T, S)``: key ``j`` is visible to query ``i`` when
  ``j <= past + i`` and key ``j`` is not padding; a padding query always sees itself (no all-masked row).
Position ids default to the count of real tokens before each token, so left padding does not shift RoPE.
The KV cache arrives as ``past_key_values`` (transformers < 5.24) or ``cache`` (its newer name); both work.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.cache_utils import Cache, DynamicCache
from transformers.generation import GenerationMixin
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutputWithPast,
    CausalLMOutputWithPast,
    SequenceClassifierOutputWithPast,
)
from transformers.modeling_utils import PreTrainedModel

from bioLM.model.config import BioLMConfig

IGNORE_INDEX = -100
# The field that carries the KV cache in HF model outputs: "cache" from transformers 5.24, "past_key_values" before.
CACHE_FIELD = "cache" if "cache" in BaseModelOutputWithPast.__dataclass_fields__ else "past_key_values"


def resolve_cache(past_key_values: Cache | None, kwargs: dict) -> Cache | None:
    """The KV cache under either of its HF names: ``past_key_values`` or (transformers >= 5.24) ``cache``."""
    cache = kwargs.pop("cache", None)
    if cache is not None and past_key_values is not None and cache is not past_key_values:
        raise ValueError("give the KV cache as past_key_values or cache, not both")
    return past_key_values if past_key_values is not None else cache


class BioLMRMSNorm(nn.Module):
    """RMSNorm over the last dimension: ``x / sqrt(mean(x**2) + eps) * weight``."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., C) -> (..., C)
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin of shape (B, 1, T, D) for positions (B, T), in float32 (Llama layout: halves repeated)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=position_ids.device,
                                            dtype=torch.float32) / head_dim)  # (D/2,)
    freqs = position_ids.float()[..., None] * inv_freq  # (B, T, D/2)
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # (B, 1, T, D)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys (B, H, T, D) by their positions."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin


def build_attention_mask(attention_mask: torch.Tensor | None, past: int, t: int,
                         device: torch.device) -> tuple[torch.Tensor | None, bool]:
    """Return (mask, is_causal) for SDPA; mask is None or bool (B, 1, T, S) with True = may attend."""
    if attention_mask is not None and attention_mask.dim() == 4:  # already expanded by the caller
        return attention_mask, False
    if attention_mask is None or bool(attention_mask.all()):
        if past == 0:
            return None, t > 1
        if t == 1:
            return None, False  # one new token sees every cached token
        keys_valid = None
    else:
        keys_valid = attention_mask[:, None, None, :].bool()  # (B, 1, 1, S)
    query_pos = torch.arange(past, past + t, device=device)[:, None]  # (T, 1)
    key_pos = torch.arange(past + t, device=device)[None, :]  # (1, S)
    causal = key_pos <= query_pos  # (T, S)
    if keys_valid is None:
        return causal[None, None], False
    mask = (causal & keys_valid) | (key_pos == query_pos)  # (B, 1, T, S); pad queries see themselves
    return mask, False


def _causal_attention_backward(grad: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                               out: torch.Tensor, lse: torch.Tensor, scale: float,
                               chunk: int = 128) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Causal attention gradients from saved (B, H, T, D) q, k, v, out and logsumexp (B, H, T), float32.

    Recomputes the probabilities in query chunks of ``chunk`` rows that only see keys up to the chunk's end
    (the causal half is skipped); matmuls run in the inputs' dtype (bf16 on AMX), softmax algebra in float32.
    Written as plain tensor code so that ``torch.compile`` fuses the elementwise work (CPU: ~1.5x faster
    than the flash-attention backward kernel at T=512, D=64).
    """
    T = q.shape[2]
    delta = (grad.float() * out.float()).sum(-1, keepdim=True)  # (B, H, T, 1)
    dq_chunks, dk, dv = [], None, None
    for start in range(0, T, chunk):
        end = min(start + chunk, T)
        qs, gs, ks, vs = q[:, :, start:end], grad[:, :, start:end], k[:, :, :end], v[:, :, :end]
        scores = torch.matmul(qs, ks.transpose(-1, -2)).float() * scale  # (B, H, c, end)
        rows = torch.arange(start, end, device=q.device)[:, None]
        cols = torch.arange(end, device=q.device)[None, :]
        p = torch.where(cols <= rows, torch.exp(scores - lse[:, :, start:end, None]), 0.0)  # (B, H, c, end)
        dv_part = torch.matmul(p.to(v.dtype).transpose(-1, -2), gs).float()  # (B, H, end, D)
        dp = torch.matmul(gs, vs.transpose(-1, -2)).float()  # (B, H, c, end)
        ds = (p * (dp - delta[:, :, start:end]) * scale).to(q.dtype)
        dq_chunks.append(torch.matmul(ds, ks))  # (B, H, c, D)
        dk_part = torch.matmul(ds.transpose(-1, -2), qs).float()  # (B, H, end, D)
        dk_part, dv_part = F.pad(dk_part, (0, 0, 0, T - end)), F.pad(dv_part, (0, 0, 0, T - end))
        dk = dk_part if dk is None else dk + dk_part
        dv = dv_part if dv is None else dv + dv_part
    return torch.cat(dq_chunks, 2), dk.to(k.dtype), dv.to(v.dtype)


class _CPUCausalAttention(torch.autograd.Function):
    """Causal SDPA on CPU: the flash-attention forward kernel, and :func:`_causal_attention_backward`."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scale = q.shape[-1] ** -0.5
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, True,
                                                                               scale=scale)[:2]
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v, out, lse = ctx.saved_tensors
        return _causal_attention_backward(grad.contiguous(), q, k, v, out, lse, ctx.scale)


class BioLMAttention(nn.Module):
    """Multi-head causal self-attention with fused QKV, RoPE and SDPA."""

    def __init__(self, config: BioLMConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.proj.is_residual_projection = True
        # Set by compile_blocks: use _CPUCausalAttention for CPU training steps (its backward needs compiling).
        self.compiled_cpu_backward = False

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None,
                is_causal: bool, past_key_values: Cache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).unbind(2)  # 3 x (B, T, H, D)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, H, T, D)
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if past_key_values is not None:
            k, v = past_key_values.update(k, v, self.layer_idx)  # (B, H, S, D)
        if self._use_cpu_causal(q, mask, is_causal, past_key_values):
            y = _CPUCausalAttention.apply(q, k, v)  # (B, H, T, D)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                               dropout_p=self.dropout if self.training else 0.0)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.proj(y)

    def _use_cpu_causal(self, q: torch.Tensor, mask: torch.Tensor | None, is_causal: bool,
                        past_key_values: Cache | None) -> bool:
        return (self.compiled_cpu_backward and q.device.type == "cpu" and q.requires_grad and mask is None
                and is_causal and past_key_values is None and (self.dropout == 0.0 or not self.training)
                and q.dtype == torch.bfloat16)


class BioLMMLP(nn.Module):
    """SwiGLU ``proj(silu(gate) * up)`` with one fused gate+up matmul, or GELU ``proj(gelu(fc(x)))``."""

    def __init__(self, config: BioLMConfig) -> None:
        super().__init__()
        self.gated = config.mlp == "swiglu"
        width = config.intermediate_size
        self.fc = nn.Linear(config.n_embd, 2 * width if self.gated else width, bias=config.bias)
        self.proj = nn.Linear(width, config.n_embd, bias=config.bias)
        self.proj.is_residual_projection = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        h = self.fc(x)  # (B, T, 2I) or (B, T, I)
        if self.gated:
            gate, up = h.chunk(2, dim=-1)  # (B, T, I) each
            return self.proj(F.silu(gate) * up)
        return self.proj(F.gelu(h))


class BioLMBlock(GradientCheckpointingLayer):
    """Pre-norm transformer block."""

    def __init__(self, config: BioLMConfig, layer_idx: int) -> None:
        super().__init__()
        self.attn_norm = BioLMRMSNorm(config.n_embd, config.rms_norm_eps)
        self.attn = BioLMAttention(config, layer_idx)
        self.mlp_norm = BioLMRMSNorm(config.n_embd, config.rms_norm_eps)
        self.mlp = BioLMMLP(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None,
                is_causal: bool, past_key_values: Cache | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.attn_norm(x), rope, mask, is_causal, past_key_values))  # (B, T, C)
        return x + self.drop(self.mlp(self.mlp_norm(x)))  # (B, T, C)


class BioLMPreTrainedModel(PreTrainedModel):
    """Weight init (GPT-2: normal(0, 0.02), residual projections / sqrt(2 n_layer)) and HF plumbing."""

    config_class = BioLMConfig
    config: BioLMConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["BioLMBlock"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_sdpa = True

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            if getattr(module, "is_residual_projection", False):
                std = std / math.sqrt(2 * self.config.n_layer)
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, BioLMRMSNorm):
            init.ones_(module.weight)


class BioLMModel(BioLMPreTrainedModel):
    """Embeddings + blocks + final norm. ``hidden_states`` (when asked): n_layer + 1 tensors (B, T, C): the
    embedding output, the output of blocks 1..n_layer-1, and the final normed output (== last_hidden_state)."""

    def __init__(self, config: BioLMConfig) -> None:
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList([BioLMBlock(config, i) for i in range(config.n_layer)])
        self.norm = BioLMRMSNorm(config.n_embd, config.rms_norm_eps)
        self.gradient_checkpointing = False
        self.post_init()

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast | tuple:
        """input_ids (B, T) -> last_hidden_state (B, T, C); attention_mask (B, past + T) of 1 (token) / 0 (pad)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("BioLMModel: give exactly one of input_ids or inputs_embeds")
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        if use_cache is None:
            use_cache = self.config.use_cache and not self.training
        past_key_values = resolve_cache(past_key_values, kwargs)
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, C)
        B, T, _ = x.shape
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        if position_ids is None:
            position_ids = self._default_positions(attention_mask, past, B, T, x.device)  # (B, T)
        mask, is_causal = build_attention_mask(attention_mask, past, T, x.device)
        rope = rope_cos_sin(position_ids, self.config.head_dim, self.config.rope_theta)  # 2 x (B, 1, T, D)
        x = self.drop(x)
        hidden_states = [x] if output_hidden_states else None
        for i, layer in enumerate(self.layers):
            x = layer(x, rope, mask, is_causal, past_key_values=past_key_values)  # (B, T, C)
            if output_hidden_states and i < len(self.layers) - 1:
                hidden_states.append(x)
        x = self.norm(x)
        if output_hidden_states:
            hidden_states.append(x)
        out = BaseModelOutputWithPast(last_hidden_state=x, hidden_states=tuple(hidden_states) if hidden_states else None,
                                      **{CACHE_FIELD: past_key_values if use_cache else None})
        return out if return_dict is not False else out.to_tuple()

    @staticmethod
    def _default_positions(attention_mask: torch.Tensor | None, past: int, B: int, T: int,
                           device: torch.device) -> torch.Tensor:
        """Positions (B, T): number of real tokens before each token (so left padding does not shift RoPE)."""
        if attention_mask is None or attention_mask.dim() != 2:
            return torch.arange(past, past + T, device=device).expand(B, T)
        return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -T:]


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The one log-likelihood function: ``log p(targets[b, t])`` under ``softmax(logits[b, t])``, in nats, float32.

    logits (B, T, V), targets (B, T) -> (B, T); a target equal to -100 (``IGNORE_INDEX``) gives 0. No shift
    happens here: the caller aligns the logits with the tokens they predict (causal: ``logits[:, :-1]`` with
    ``ids[:, 1:]``; masked: the logits at the masked positions). Training loss, ``bits``, variant and mutation
    scoring all call this function (or its compiled copy, :func:`log_probs_function`).
    """
    nats = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten().to(logits.device),
                           ignore_index=IGNORE_INDEX, reduction="none")
    return -nats.view(targets.shape)


def log_probs_function(model: nn.Module):
    """:func:`token_log_probs`, compiled when :func:`compile_blocks` compiled ``model`` (fuses the float cast
    and the log-softmax: ~3x faster on CPU for a (4096, 4096) logits matrix)."""
    return getattr(model, "compiled_log_probs", None) or token_log_probs


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | None = None,
                   log_probs=token_log_probs) -> torch.Tensor:
    """Mean next-token cross-entropy in nats: logits (B, T, V) predict labels (B, T) shifted left by one.

    Labels equal to -100 are ignored. With ``num_items_in_batch`` the sum is divided by it instead (gradient
    accumulation over unevenly padded batches).
    """
    shifted = F.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]  # (B, T): label of position t is token t+1
    total = -log_probs(logits, shifted).sum()
    count = num_items_in_batch if num_items_in_batch is not None else (shifted != IGNORE_INDEX).sum()
    return total / count


class BioLMForCausalLM(BioLMPreTrainedModel, GenerationMixin):
    """BioLMModel + lm_head; returns CausalLMOutputWithPast, works with ``generate()`` and its KV cache."""

    _tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}
    # Set by compile_blocks to a torch.compile'd token_log_probs (see log_probs_function).
    compiled_log_probs = None

    def __init__(self, config: BioLMConfig) -> None:
        super().__init__(config)
        self.model = BioLMModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int = 0,
        num_items_in_batch: int | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast | tuple:
        """input_ids (B, T) -> logits (B, T, V); with labels (B, T) (usually = input_ids, -100 ignored) the loss
        is the mean cross-entropy of predicting token t+1 from tokens <= t (the shift happens here)."""
        past_key_values = resolve_cache(past_key_values, kwargs)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
                         output_hidden_states=output_hidden_states, return_dict=True)
        hidden = out.last_hidden_state  # (B, T, C)
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.lm_head(hidden)  # (B, T, V)
        loss = None if labels is None else causal_lm_loss(logits, labels, num_items_in_batch,
                                                          log_probs_function(self))
        result = CausalLMOutputWithPast(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        **{CACHE_FIELD: getattr(out, CACHE_FIELD)})
        return result if return_dict is not False else result.to_tuple()


class BioLMForSequenceClassification(BioLMPreTrainedModel):
    """BioLMModel + a linear head on a pooled representation (``config.classifier_pooling``: last non-pad
    token, or mean over non-pad tokens). Loss by ``config.problem_type`` as in HF (regression, single- or
    multi-label classification)."""

    def __init__(self, config: BioLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = BioLMModel(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutputWithPast | tuple:
        """input_ids (B, T) -> logits (B, num_labels); padding found from attention_mask, else pad_token_id."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         inputs_embeds=inputs_embeds, use_cache=False, output_hidden_states=output_hidden_states,
                         return_dict=True)
        hidden = out.last_hidden_state  # (B, T, C)
        pooled = self._pool(hidden, self._token_mask(input_ids, attention_mask, hidden))  # (B, C)
        logits = self.score(pooled)  # (B, num_labels)
        loss = None if labels is None else self._loss(logits, labels)
        result = SequenceClassifierOutputWithPast(loss=loss, logits=logits, hidden_states=out.hidden_states)
        return result if return_dict is not False else result.to_tuple()

    def _token_mask(self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None,
                    hidden: torch.Tensor) -> torch.Tensor:
        """(B, T) float mask of real tokens."""
        if attention_mask is not None:
            return attention_mask.to(hidden.dtype)
        if input_ids is not None and self.config.pad_token_id is not None:
            return (input_ids != self.config.pad_token_id).to(hidden.dtype)
        return hidden.new_ones(hidden.shape[:2])

    def _pool(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hidden (B, T, C), mask (B, T) -> (B, C)."""
        if self.config.classifier_pooling == "mean":
            return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (positions * (mask > 0)).argmax(-1)  # (B,) index of the last real token (left or right padding)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        problem = self.config.problem_type
        if problem is None:
            if self.num_labels == 1:
                problem = "regression"
            elif labels.dtype in (torch.long, torch.int):
                problem = "single_label_classification"
            else:
                problem = "multi_label_classification"
        logits = logits.float()
        if problem == "regression":
            return F.mse_loss(logits.squeeze(-1) if self.num_labels == 1 else logits, labels.float())
        if problem == "single_label_classification":
            return F.cross_entropy(logits, labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.float())


def compile_blocks(model: BioLMPreTrainedModel, **compile_kwargs) -> BioLMPreTrainedModel:
    """Compile each transformer block in place with ``torch.compile`` (regional compilation: fast to compile,
    state-dict keys unchanged, so ``save_pretrained`` still works). Returns the same model.

    Also switches on the CPU causal-attention path (flash forward + a chunked backward that compiles ~1.5x
    faster than the flash backward kernel; used only for unpadded, cache-free bf16 training steps) and, for
    BioLMForCausalLM, compiles :func:`token_log_probs`, which the pretraining step (``training/module.py``) and
    the ``labels=`` loss both call through :func:`log_probs_function`. ``compile_kwargs`` go to ``torch.compile``.
    """
    if isinstance(model, BioLMForCausalLM):
        model.compiled_log_probs = torch.compile(token_log_probs, **compile_kwargs)
    base = model if isinstance(model, BioLMModel) else model.model
    for layer in base.layers:
        layer.attn.compiled_cpu_backward = True
        layer.compile(**compile_kwargs)
    return model
