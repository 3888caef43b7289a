"""Named model sizes. Each preset is a plain dict of BioLMConfig fields; ``config_from_preset`` adds the
vocabulary size of the tokenizer and any overrides.

- ``tiny``: 2 layers, width 64, context 256: for tests and the 2-minute CPU demo.
- ``small``: 6 layers, width 384, 6 heads, context 512 (~14M parameters with a 4,096-token vocabulary).
- ``base``: 12 layers, width 768, 12 heads, context 1024 (~85M non-embedding parameters): sized for one GPU.
"""

from __future__ import annotations

from typing import Any

from bioLM.errors import ConfigError
from bioLM.model.config import BioLMConfig
from bioLM.model.flops import flops_per_token

__all__ = ["PRESETS", "config_from_preset", "flops_per_token"]

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 256},
    "small": {"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 512},
    "base": {"n_layer": 12, "n_head": 12, "n_embd": 768, "block_size": 1024},
}


def config_from_preset(name: str, vocab_size: int, **overrides: Any) -> BioLMConfig:
    """BioLMConfig of preset ``name`` for a tokenizer of ``vocab_size`` ids (padded to a multiple of 64 inside).

    ``overrides`` are BioLMConfig fields (e.g. ``block_size=128``, ``mlp="gelu"``).
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}")
    valid = set(BioLMConfig.__dataclass_fields__)
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ConfigError(f"unknown model config key(s) {unknown} for preset {name!r}; valid keys: "
                          f"{', '.join(sorted(k for k in valid if not k.startswith('_')))}")
    fields = {**PRESETS[name], **overrides}
    fields.setdefault("tokenizer_vocab_size", vocab_size)
    return BioLMConfig(vocab_size=vocab_size, **fields)
