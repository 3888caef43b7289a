"""Matrix inputs of the heads: validation (one array, a DataFrame, or several feature blocks), standardization.

:func:`fit_matrix` / :func:`transform_matrix` are the one place where a head turns its ``X`` into a float
matrix: a block input (:mod:`bioLM.summarize.blocks`) is put side by side and the head records
``block_names_`` and ``feature_blocks_`` (the block of each input feature); ``feature_names_in_`` then holds
``"<block>:<feature>"`` names, so ``get_feature_names_out`` says where each selected feature comes from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import validate_data

from bioLM.errors import ConfigError, InputFormatError
from bioLM.summarize.blocks import is_block_input, stack_blocks


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


def fit_matrix(estimator, X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated ``(X (n, p) float64, y)`` for ``fit``; records feature names and blocks on ``estimator``."""
    blocks = stack_blocks(X) if is_block_input(X) else None
    data = blocks.X if blocks is not None else X
    if y is None:
        Xm = validate_data(estimator, data, ensure_all_finite=False, dtype=np.float64)
    else:
        Xm, y = validate_data(estimator, data, y, ensure_all_finite=False, dtype=np.float64, y_numeric=False)
    for name in ("block_names_", "feature_blocks_"):
        if hasattr(estimator, name):
            delattr(estimator, name)
    if blocks is not None:
        estimator.feature_names_in_ = blocks.feature_names
        estimator.block_names_ = blocks.names
        estimator.feature_blocks_ = np.array([blocks.names[b] for b in blocks.block_of], dtype=object)
    check_finite_columns(Xm, getattr(estimator, "feature_names_in_", None))
    return Xm, y


def transform_matrix(estimator, X) -> np.ndarray:
    """Validated ``X`` for ``transform``: the same blocks (names, widths) or the same columns as in fit."""
    names = getattr(estimator, "block_names_", None)
    if is_block_input(X):
        blocks = stack_blocks(X)
        if names is None or blocks.names != names or blocks.X.shape[1] != estimator.n_features_in_:
            raise InputFormatError(f"blocks {blocks.names} with {blocks.X.shape[1]} features do not match the "
                                   f"fit (blocks {names}, {estimator.n_features_in_} features)")
        Xm = check_array(blocks.X, ensure_all_finite=False, dtype=np.float64)
    else:
        if names is not None:
            raise InputFormatError(f"this {type(estimator).__name__} was fitted on blocks {names}; give it "
                                   "the same blocks (a dict or a list of AnnData)")
        Xm = validate_data(estimator, X, reset=False, ensure_all_finite=False, dtype=np.float64)
    check_finite_columns(Xm, getattr(estimator, "feature_names_in_", None))
    return Xm


def is_classification(y: np.ndarray, task: str) -> bool:
    """``task``: "auto" (classification for binary/multiclass targets), "classification" or "regression"."""
    if task not in ("auto", "classification", "regression"):
        raise ConfigError(f"task={task!r} is not valid; use 'auto', 'classification' or 'regression'")
    if task != "auto":
        return task == "classification"
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass", "continuous"):
        raise InputFormatError(f"Unknown label type: y is {kind}; the heads take one label or one value "
                               "per sample")
    return kind != "continuous"
