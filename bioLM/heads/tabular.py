"""Embedding for tabular values: each feature of a samples x features matrix becomes a token.

Token of feature ``j`` for one sample with value ``x_j``::

    t_j = V · gelu(a_j * x_j + b_j) + e_j        # (hidden,)

``a_j, b_j`` are a per-feature value projection (a small non-linear code of the value), ``V`` is shared,
and ``e_j`` is a learned feature-identity embedding, so attention over features can prefer a feature for
what it is (global relevance), not only for the value it has in one sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from bioLM.errors import InputFormatError


class TabularTokens(nn.Module):
    """(n, n_features) values -> (n, n_features, hidden) tokens."""

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.randn(n_features, hidden))  # a_j
        self.shift = nn.Parameter(torch.randn(n_features, hidden) * 0.1)  # b_j
        self.value = nn.Linear(hidden, hidden, bias=False)  # V
        self.identity = nn.Parameter(torch.randn(n_features, hidden) * 0.5)  # e_j

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = nn.functional.gelu(x.unsqueeze(-1) * self.scale + self.shift)  # (n, F, h)
        return self.value(code) + self.identity  # (n, F, h)


def check_finite_columns(X: np.ndarray, feature_names: Sequence[str] | None = None) -> None:
    """Raise :class:`InputFormatError` (a ValueError) naming the first column that holds NaN or inf."""
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    columns = np.flatnonzero(bad.any(axis=0))
    column = int(columns[0])
    rows = np.flatnonzero(bad[:, column])
    kind = "NaN" if np.isnan(X[rows[0], column]) else "inf"
    name = f" ({feature_names[column]!r})" if feature_names is not None else ""
    raise InputFormatError(
        f"column {column}{name} contains {kind} (first at row {int(rows[0])}; {len(columns)} column(s) "
        f"hold NaN or inf in all). Impute or drop these values before fitting, e.g. with "
        f"sklearn.impute.SimpleImputer in a Pipeline.")


class Standardizer:
    """Column mean/scale learned in fit; constant columns keep scale 1."""

    def __init__(self, X: np.ndarray) -> None:
        self.mean = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale = np.where(scale > 1e-12, scale, 1.0)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale
