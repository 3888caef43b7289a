"""Several feature blocks of the same samples (multi-omics): expression, methylation, embeddings, ...

A block input is either a ``dict`` ``{name: (n, p_b) array}`` or a list/tuple of AnnData-like objects (with
``.X`` and optionally ``.var_names``; a block is named by ``uns["name"]`` when present, else ``block<i>``).
Blocks are put side by side in the given order; feature ``j`` of the result belongs to block
``block_of[j]`` and is named ``"<block>:<feature>"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bioLM.errors import InputFormatError


@dataclass
class Blocks:
    """Blocks put side by side: ``X`` (n, sum p_b), ``names`` (one per block), ``block_of`` (p,) block index
    of each feature, ``feature_names`` (p,) ``"<block>:<feature>"``."""

    X: np.ndarray
    names: list[str]
    block_of: np.ndarray
    feature_names: np.ndarray


def is_block_input(X: object) -> bool:
    """True for a dict of arrays or a list/tuple of AnnData-like objects (having ``.X``)."""
    if isinstance(X, dict):
        return not hasattr(X, "tocsr")  # scipy's dok sparse matrices are dicts too
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(hasattr(a, "X") for a in X)


def _dense(matrix: object) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)


def stack_blocks(X: dict | list | tuple) -> Blocks:
    """Validate a block input and put its blocks side by side (see the module doc for the naming)."""
    if isinstance(X, dict):
        items = [(str(name), _dense(a), None) for name, a in X.items()]
    else:
        items = []
        for i, adata in enumerate(X):
            uns = getattr(adata, "uns", None) or {}
            var_names = getattr(adata, "var_names", None)
            items.append((str(uns.get("name", f"block{i}")), _dense(adata.X),
                          None if var_names is None else [str(v) for v in var_names]))
    if not items:
        raise InputFormatError("no feature blocks given")
    n = {name: a.shape[0] if a.ndim == 2 else -1 for name, a, _ in items}
    bad = [name for name, a, _ in items if a.ndim != 2]
    if bad:
        raise InputFormatError(f"block {bad[0]!r} is not a 2-D samples x features matrix")
    if len(set(n.values())) != 1:
        raise InputFormatError(f"blocks have different numbers of samples: {n}; every block must hold the "
                               "same samples in the same order")
    names = [name for name, _, _ in items]
    if len(set(names)) != len(names):
        raise InputFormatError(f"block names repeat: {names}")
    features = [f"{name}:{v}" for name, a, var in items
                for v in (var if var is not None else range(a.shape[1]))]
    block_of = np.concatenate([np.full(a.shape[1], b) for b, (_, a, _) in enumerate(items)])
    return Blocks(np.hstack([a for _, a, _ in items]), names, block_of, np.asarray(features, dtype=object))


def block_weights(block_of: np.ndarray) -> np.ndarray:
    """(p,) ``1 / sqrt(p_b)`` for each feature: every block gets the same total variance once standardized,
    so a 20,000-gene block does not drown a 50-feature one (multi-block PLS convention)."""
    sizes = np.bincount(block_of)
    return 1.0 / np.sqrt(sizes[block_of])
