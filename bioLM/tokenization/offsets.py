"""Token -> base coordinates, for every tokenizer kind (char, k-mer of any stride, BPE).

Offsets are 0-based half-open ``(start, end)`` positions in the input string, one row per token of
:func:`bioLM.tokenization.encode_sequence` (no special tokens). Overlapping k-mer windows overlap by ``k - stride``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from transformers import PreTrainedTokenizerFast

from bioLM.errors import ConfigError
from bioLM.tokenization.encode import _encode


def encode_with_offsets(tokenizer: PreTrainedTokenizerFast, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids (int32, ``(n_tokens,)``) and offsets (int64, ``(n_tokens, 2)``) of ``sequence``."""
    ids, offsets = _encode(tokenizer, sequence, offsets=True)
    assert offsets is not None
    return ids, offsets


def token_offsets(tokenizer: PreTrainedTokenizerFast, sequence: str) -> np.ndarray:
    """Offsets (int64, ``(n_tokens, 2)``) of the tokens of ``sequence`` in base coordinates."""
    return encode_with_offsets(tokenizer, sequence)[1]


def tokens_to_bases(values: np.ndarray, offsets: np.ndarray, length: int,
                    reduce: Literal["mean", "sum", "max"] = "mean") -> np.ndarray:
    """Spread per-token ``values`` (``(n_tokens, ...)``) onto bases: ``(length, ...)``.

    Each base gets the mean (or sum, or max) of the tokens covering it (one token for char, non-overlapping
    k-mer and BPE tokenizers; k/stride tokens for overlapping k-mers); bases no token covers get 0. Float
    input keeps its dtype.
    """
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    if len(values) != len(offsets):
        raise ConfigError(f"values has {len(values)} rows but offsets has {len(offsets)} tokens")
    spans = offsets[:, 1] - offsets[:, 0]
    token = np.repeat(np.arange(len(offsets)), spans)
    base = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans) + np.repeat(offsets[:, 0], spans)
    out = np.zeros((length, *values.shape[1:]), dtype=values.dtype)
    if reduce == "max":
        out[:] = -np.inf
        np.maximum.at(out, base, values[token])
        out[np.isneginf(out)] = 0.0
        return out
    np.add.at(out, base, values[token])
    if reduce == "mean":
        counts = np.bincount(base, minlength=length).reshape((length,) + (1,) * (values.ndim - 1))
        out /= np.maximum(counts, 1)
    elif reduce != "sum":
        raise ConfigError(f"reduce={reduce!r} is not one of 'mean', 'sum', 'max'")
    return out
