"""Pieces shared by the summarization heads: input handling, small torch modules, one training loop.

Items: on sequences a head sees every sample as a set of items of width ``d``:
- sequences: per-token embeddings, a 3-D array ``(n, L, d)`` with an optional bool ``mask`` ``(n, L)``
  (True = real token), or a list of ``(L_i, d)`` arrays of different lengths (padded here);
(matrices take the statistical paths of :mod:`bioLM.summarize._stability` and :mod:`bioLM.summarize._reduce`).

Everything runs in float64 on CPU, so results do not depend on batch composition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from torch import nn

from bioLM.errors import ConfigError, InputFormatError
from bioLM.hardware import single_thread

DTYPE = torch.float64


def is_sequence_input(X: object) -> bool:
    """True for a 3-D array or a list/tuple of 2-D arrays (per-token embeddings of sequences)."""
    if isinstance(X, np.ndarray):
        return X.ndim == 3
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return isinstance(X[0], np.ndarray) and X[0].ndim == 2
    return False


@dataclass
class Items:
    """Padded items: ``values`` (n, L, d) float64, ``mask`` (n, L) bool (True = real item)."""

    values: np.ndarray
    mask: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.mask.sum(axis=1)


def pad_items(X: np.ndarray | Sequence[np.ndarray], mask: np.ndarray | None = None) -> Items:
    """Sequence input -> :class:`Items`; raises InputFormatError for NaN/inf, empty or ragged widths."""
    if isinstance(X, np.ndarray):
        values = np.array(X, dtype=np.float64)
        if mask is None:
            mask = np.ones(values.shape[:2], dtype=bool)
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != values.shape[:2]:
            raise InputFormatError(f"mask has shape {mask.shape}, expected (n, L) = {values.shape[:2]}")
    else:
        if mask is not None:
            raise InputFormatError("mask is only for a 3-D array; a list of (L_i, d) arrays needs none")
        shapes = [np.shape(a) for a in X]
        flat = [i for i, shape in enumerate(shapes) if len(shape) != 2]
        if flat:
            raise InputFormatError(f"sequence {flat[0]} has embeddings of shape {shapes[flat[0]]}; "
                                   "each sequence needs an (L_i, d) array")
        widths = {shape[1] for shape in shapes}
        if len(widths) != 1:
            raise InputFormatError(f"sequences have embeddings of different widths {sorted(widths)}")
        width = widths.pop()
        longest = max(len(a) for a in X)
        values = np.zeros((len(X), longest, width))
        mask = np.zeros((len(X), longest), dtype=bool)
        for i, a in enumerate(X):
            values[i, :len(a)] = a
            mask[i, :len(a)] = True
    if values.shape[0] == 0:
        raise InputFormatError("no sequences given (0 samples)")
    empty = np.flatnonzero(mask.sum(axis=1) == 0)
    if len(empty):
        raise InputFormatError(f"sequence {int(empty[0])} has no tokens; drop empty sequences first")
    bad = ~np.isfinite(values).all(axis=2) & mask
    if bad.any():
        sample, position = (int(v) for v in np.argwhere(bad)[0])
        raise InputFormatError(f"sequence {sample}, token {position} holds NaN or inf in its embedding")
    return Items(values, mask)


class SequenceTokens(nn.Module):
    """(n, L, d) embeddings -> (n, L, hidden) tokens."""

    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class AttentionScorer(nn.Module):
    """Relevance of each item for each of H heads: ``score_i = w_h^T tanh(W t_i)``; padding gets -inf."""

    def __init__(self, hidden: int, n_heads: int = 1) -> None:
        super().__init__()
        self.W = nn.Linear(hidden, hidden)
        self.w = nn.Linear(hidden, n_heads, bias=False)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        scores = self.w(torch.tanh(self.W(tokens)))  # (n, L, H)
        return scores if mask is None else scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))


def drop_items(mask: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Training-time item dropout: hide each real item with probability ``rate``, keeping >= 1 per row."""
    if rate <= 0:
        return mask
    keep = (torch.rand(mask.shape, generator=generator) >= rate) & mask
    empty = ~keep.any(dim=1)
    keep[empty] = mask[empty]
    return keep


class LatentCrossAttention(nn.Module):
    """m learned latent queries cross-attend over tokens: (n, L, h) -> (n, m, h)."""

    def __init__(self, n_latents: int, hidden: int, n_heads: int) -> None:
        super().__init__()
        self.latents = nn.Parameter(torch.randn(n_latents, hidden) * 0.5)
        self.attend = nn.MultiheadAttention(hidden, n_heads, batch_first=True)
        self.norm1 = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden))
        self.norm2 = nn.LayerNorm(hidden)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        queries = self.latents.expand(tokens.shape[0], -1, -1)  # (n, m, h)
        padding = None if mask is None else ~mask
        attended, _ = self.attend(queries, tokens, tokens, key_padding_mask=padding, need_weights=False)
        z = self.norm1(queries + attended)
        return self.norm2(z + self.ffn(z))  # (n, m, h)


@dataclass
class Target:
    """Encoded task target: ``tensor`` for the loss, ``classes`` (None for regression), ``out_dim``."""

    tensor: torch.Tensor
    classes: np.ndarray | None
    out_dim: int

    def loss(self, output: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        target = self.tensor[index]
        if self.classes is None:
            return nn.functional.mse_loss(output.squeeze(-1), target)
        return nn.functional.cross_entropy(output, target)


def encode_target(y: np.ndarray, task: str) -> Target:
    """``task``: "auto" (classification for binary/multiclass targets), "classification" or "regression"."""
    if task not in ("auto", "classification", "regression"):
        raise ConfigError(f"task={task!r} is not valid; use 'auto', 'classification' or 'regression'")
    kind = type_of_target(y)
    if task == "classification" or (task == "auto" and kind in ("binary", "multiclass")):
        classes, codes = np.unique(y, return_inverse=True)
        return Target(torch.as_tensor(codes, dtype=torch.long), classes, max(len(classes), 1))
    values = np.asarray(y, dtype=np.float64)
    centred = (values - values.mean()) / (values.std() or 1.0)
    return Target(torch.as_tensor(centred, dtype=DTYPE), None, 1)


def seed_for(random_state: int | np.random.RandomState | None) -> int:
    """A torch seed from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@dataclass
class TrainConfig:
    """Mini-batch AdamW on a summed loss."""

    max_epochs: int = 30
    """passes over the training samples"""
    batch_size: int = 128
    """samples per optimizer step"""
    learning_rate: float = 0.01
    """AdamW learning rate"""
    weight_decay: float = 1e-4
    """AdamW weight decay"""


def train(module: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n_samples: int,
          config: TrainConfig, generator: torch.Generator) -> list[float]:
    """Fit ``module`` by minimising ``batch_loss(indices)``; deterministic given ``generator``.

    Returns the mean loss of each epoch; leaves the module in eval mode.
    """
    if config.max_epochs < 1 or config.batch_size < 1:
        raise ConfigError(f"max_epochs={config.max_epochs} and batch_size={config.batch_size} must be >= 1")
    optimizer = torch.optim.AdamW(module.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    module.train()
    history = []
    with single_thread():
        for _ in range(config.max_epochs):
            history.append(_epoch(module, batch_loss, n_samples, config, optimizer, generator))
    module.eval()
    return history


def _epoch(module: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n_samples: int,
           config: TrainConfig, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> float:
    order = torch.randperm(n_samples, generator=generator)
    total = 0.0
    for start in range(0, n_samples, config.batch_size):
        index = order[start:start + config.batch_size]
        loss = batch_loss(index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(index)
    return total / n_samples


def batched(fn: Callable[[torch.Tensor], torch.Tensor], n_samples: int, batch_size: int = 512) -> np.ndarray:
    """Apply ``fn(indices)`` in inference mode over all samples and concatenate the numpy results."""
    with torch.inference_mode(), single_thread():
        parts = [fn(torch.arange(s, min(s + batch_size, n_samples))).numpy()
                 for s in range(0, n_samples, batch_size)]
    return np.concatenate(parts, axis=0)


def as_tensor(array: np.ndarray) -> torch.Tensor:
    """A float64 tensor that owns a copy (inputs may be read-only memmaps)."""
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=DTYPE)
