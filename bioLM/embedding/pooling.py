"""Pooling of per-token hidden states into one vector per sequence.

Conventions: ``hidden`` is ``(B, T, H)``; ``content`` is a boolean ``(B, T)`` mask that is True at the tokens of
the sequence itself (not padding, not ``<bos>``). Pooled results are ``(B, H)``.

* ``mean`` (default): average over content tokens; padding and ``<bos>`` are excluded.
* ``max``: element-wise maximum over content tokens.
* ``last``: the last content token (in a causal model, the only token that has seen the whole sequence).
* ``first``: the ``<bos>`` token when the inputs start with one, else the first content token.
* ``per-token`` / ``per-base``: no pooling; one vector per token, or per base through the tokenizer offsets.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import torch

from bioLM.errors import ConfigError

Pooling = Literal["mean", "max", "last", "first", "per-token", "per-base"]
POOLINGS: tuple[str, ...] = get_args(Pooling)
VECTOR_POOLINGS = ("mean", "max", "last", "first")


def check_pooling(pooling: str) -> str:
    """Return ``pooling`` (``bos`` is accepted for ``first``) or raise :class:`ConfigError` listing the valid ones."""
    if pooling == "bos":
        return "first"
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling={pooling!r} is not valid; choose one of {list(POOLINGS)} (or 'bos' for 'first')")
    return pooling


def pool(hidden: torch.Tensor, content: torch.Tensor, pooling: str, has_bos: bool) -> torch.Tensor:
    """Pool ``hidden`` ``(B, T, H)`` over the True positions of ``content`` ``(B, T)`` -> ``(B, H)`` (float32).

    With ``has_bos`` the first position of every row is ``<bos>`` (used by ``first``). Every row must have at
    least one content token.
    """
    hidden = hidden.float()
    mask = content.unsqueeze(-1)  # (B, T, 1)
    if pooling == "mean":
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    if pooling == "max":
        return hidden.masked_fill(~mask, float("-inf")).max(1).values
    if pooling == "last":
        positions = torch.arange(content.shape[1], device=content.device)
        last = torch.where(content, positions, -1).max(1).values  # (B,)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    if pooling == "first":
        if has_bos:
            return hidden[:, 0]
        first = content.float().argmax(1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), first]
    raise ConfigError(f"pooling={pooling!r} does not reduce to one vector; use one of {list(VECTOR_POOLINGS)}")


def pool_tokens(tokens: np.ndarray, pooling: str, bos: np.ndarray | None = None) -> np.ndarray:
    """Pool the content-token states ``(T, H)`` of one sequence -> ``(H,)``; ``bos`` ``(H,)`` serves ``first``."""
    if pooling == "mean":
        return tokens.mean(0)
    if pooling == "max":
        return tokens.max(0)
    if pooling == "last":
        return tokens[-1]
    if pooling == "first":
        return bos if bos is not None else tokens[0]
    raise ConfigError(f"pooling={pooling!r} does not reduce to one vector; use one of {list(VECTOR_POOLINGS)}")
