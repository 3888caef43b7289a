"""bioLM GPT <-> Hugging Face Llama: the same network, written with Llama's names and unfused weights.

bioLM's SwiGLU GPT is the Llama architecture (pre-norm RMSNorm, RoPE with Llama's ``rotate_half`` layout,
no GQA, SwiGLU MLP; ``tests/model/test_model_parity.py`` checks the math). Only the storage differs: bioLM
fuses q/k/v into ``attn.qkv`` (rows ``[q; k; v]``) and gate/up into ``mlp.fc`` (rows ``[gate; up]``) for speed.
The export (:mod:`bioLM.training.export`) writes ``LlamaForCausalLM`` checkpoints with these functions so
plain ``transformers`` (and PEFT, vLLM, llama.cpp, ONNX exporters) load them without bioLM.

Not expressible as Llama: the GELU MLP (Llama's MLP is always gated); :func:`llama_config` refuses it.
Dropout on residual branches has no Llama field (inference is unaffected; ``attention_dropout`` is kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

from bioLM.errors import ConfigError
from bioLM.model.config import BioLMConfig
from bioLM.model.modeling import BioLMForCausalLM, BioLMForSequenceClassification

# bioLM state-dict key (after "model.layers.{i}.") -> Llama names of its row blocks (split in this order).
_FUSED = {"attn.qkv": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
          "mlp.fc": ("mlp.gate_proj", "mlp.up_proj")}
_RENAMED = {"attn.proj": "self_attn.o_proj", "mlp.proj": "mlp.down_proj",
            "attn_norm": "input_layernorm", "mlp_norm": "post_attention_layernorm"}
_LAYER_KEY = re.compile(r"^model\.layers\.(\d+)\.(.+)\.(weight|bias)$")


def exportable_as_llama(config: BioLMConfig) -> bool:
    """True when ``config`` is expressible as a Llama (every SwiGLU bioLM model; not the GELU MLP)."""
    return config.mlp == "swiglu"


def llama_config(config: BioLMConfig) -> LlamaConfig:
    """The ``LlamaConfig`` of the same shape: padded vocabulary, ``num_key_value_heads = n_head``, same eps,
    RoPE theta, bias, tying and special-token ids. Raises ConfigError for the GELU MLP."""
    if not exportable_as_llama(config):
        raise ConfigError(f"mlp={config.mlp!r} has no Llama equivalent (Llama's MLP is gated SiLU); only "
                          "mlp='swiglu' models export as LlamaForCausalLM")
    return LlamaConfig(
        vocab_size=config.vocab_size, hidden_size=config.n_embd, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.n_layer, num_attention_heads=config.n_head, num_key_value_heads=config.n_head,
        head_dim=config.head_dim, max_position_embeddings=config.block_size, rms_norm_eps=config.rms_norm_eps,
        rope_theta=config.rope_theta, hidden_act="silu", attention_bias=config.bias, mlp_bias=config.bias,
        attention_dropout=config.dropout, tie_word_embeddings=config.tie_word_embeddings,
        initializer_range=config.initializer_range, use_cache=True, pad_token_id=config.pad_token_id,
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
        architectures=["LlamaForCausalLM"])


def biolm_config(config: LlamaConfig, **extra) -> BioLMConfig:
    """The ``BioLMConfig`` of a Llama config that bioLM's GPT can express (no GQA, default RoPE, SiLU).

    ``extra`` are BioLMConfig fields (e.g. ``tokenizer_vocab_size``) to set as well.
    """
    rope = getattr(config, "rope_parameters", None) or {}
    problems = []
    if config.num_key_value_heads not in (None, config.num_attention_heads):
        problems.append(f"num_key_value_heads={config.num_key_value_heads} (grouped-query attention)")
    if rope.get("rope_type", "default") != "default":
        problems.append(f"rope_type={rope.get('rope_type')!r}")
    if config.hidden_act != "silu":
        problems.append(f"hidden_act={config.hidden_act!r}")
    if getattr(config, "head_dim", None) not in (None, config.hidden_size // config.num_attention_heads):
        problems.append(f"head_dim={config.head_dim}")
    if config.attention_bias != config.mlp_bias:
        problems.append("attention_bias != mlp_bias")
    if problems:
        raise ConfigError(f"this Llama config is not a bioLM GPT: {', '.join(problems)}")
    return BioLMConfig(
        vocab_size=config.vocab_size, n_layer=config.num_hidden_layers, n_head=config.num_attention_heads,
        n_embd=config.hidden_size, block_size=config.max_position_embeddings, mlp="swiglu",
        intermediate_size=config.intermediate_size, rope_theta=float(rope.get("rope_theta", 10000.0)),
        rms_norm_eps=config.rms_norm_eps, bias=bool(config.attention_bias),
        tie_word_embeddings=bool(config.tie_word_embeddings), initializer_range=config.initializer_range,
        pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
        **extra)


def to_llama_state_dict(state: Mapping[str, torch.Tensor], config: BioLMConfig) -> dict[str, torch.Tensor]:
    """bioLM ``BioLMForCausalLM`` state dict -> ``LlamaForCausalLM`` state dict (fused rows split; the tied
    ``lm_head.weight`` is left out when ``config.tie_word_embeddings``)."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key == "lm_head.weight" and config.tie_word_embeddings:
            continue
        match = _LAYER_KEY.match(key)
        if match is None:  # embeddings, final norm, lm_head: same names
            out[key] = tensor
            continue
        layer, name, kind = match.groups()
        prefix = f"model.layers.{layer}."
        if name in _FUSED:
            parts = _FUSED[name]
            for part, block in zip(parts, tensor.chunk(len(parts), dim=0)):
                out[f"{prefix}{part}.{kind}"] = block.contiguous()
        elif name in _RENAMED:
            out[f"{prefix}{_RENAMED[name]}.{kind}"] = tensor
        else:
            raise KeyError(f"no Llama name for bioLM weight {key!r}")
    return out


def from_llama_state_dict(state: Mapping[str, torch.Tensor], config: BioLMConfig) -> dict[str, torch.Tensor]:
    """``LlamaForCausalLM`` state dict -> ``BioLMForCausalLM`` state dict (the inverse of
    :func:`to_llama_state_dict`; q/k/v and gate/up rows fused again)."""
    renamed = {llama: ours for ours, llama in _RENAMED.items()}
    out: dict[str, torch.Tensor] = {}
    pending: dict[tuple[str, str, str], dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        if key == "lm_head.weight" and config.tie_word_embeddings:
            continue
        match = _LAYER_KEY.match(key)
        if match is None:
            out[key] = tensor
            continue
        layer, name, kind = match.groups()
        fused = next((ours for ours, parts in _FUSED.items() if name in parts), None)
        if fused is not None:
            pending.setdefault((layer, fused, kind), {})[name] = tensor
        elif name in renamed:
            out[f"model.layers.{layer}.{renamed[name]}.{kind}"] = tensor
        elif not name.endswith("rotary_emb.inv_freq"):
            raise KeyError(f"no bioLM name for Llama weight {key!r}")
    for (layer, fused, kind), parts in pending.items():
        out[f"model.layers.{layer}.{fused}.{kind}"] = torch.cat([parts[p] for p in _FUSED[fused]], dim=0)
    return out


def to_llama(model: BioLMForCausalLM) -> LlamaForCausalLM:
    """A ``LlamaForCausalLM`` with ``model``'s weights (copied, float32 as stored), in eval mode."""
    config = llama_config(model.config)
    llama = LlamaForCausalLM(config)
    state = to_llama_state_dict(model.state_dict(), model.config)
    missing, unexpected = llama.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
    assert not missing and not unexpected, (missing, unexpected)
    if config.tie_word_embeddings:
        llama.tie_weights()
    return llama.eval()


def from_llama(model: LlamaForCausalLM, **extra) -> BioLMForCausalLM:
    """bioLM's (faster, fused) ``BioLMForCausalLM`` holding the weights of a compatible Llama, in eval mode."""
    config = biolm_config(model.config, **extra)
    ours = BioLMForCausalLM(config)
    state = from_llama_state_dict(model.state_dict(), config)
    missing, unexpected = ours.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
    if missing or unexpected:
        raise ConfigError(f"Llama weights do not fit bioLM's GPT (missing {missing[:5]}, unexpected "
                          f"{unexpected[:5]})")
    if config.tie_word_embeddings:
        ours.tie_weights()
    return ours.eval()


def classifier_from_llama(model: LlamaForSequenceClassification, pooling: str) -> BioLMForSequenceClassification:
    """bioLM's sequence classifier (``classifier_pooling=pooling``, e.g. ``"mean"``, which Llama's last-token
    classifier cannot do) with the backbone and head of ``model``; same labels and problem type."""
    if not isinstance(model, LlamaForSequenceClassification):
        raise ConfigError(f"pooling={pooling!r} needs bioLM's classifier; {type(model).__name__} pools the last "
                          "token only (drop the pooling option)")
    source = model.config
    config = biolm_config(source, classifier_pooling=pooling, num_labels=source.num_labels,
                          id2label=source.id2label, label2id=source.label2id, problem_type=source.problem_type)
    ours = BioLMForSequenceClassification(config)
    state = from_llama_state_dict(model.state_dict(), config)
    missing, unexpected = ours.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(f"Llama classifier weights do not fit bioLM's (missing {missing[:5]}, unexpected "
                          f"{unexpected[:5]})")
    return ours.train(model.training)
