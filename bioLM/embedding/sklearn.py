"""``Embedder``: a scikit-learn transformer from sequences (a list of strings) to pooled embeddings.

    Pipeline([("embed", Embedder(model_dir)), ("clf", LogisticRegression())]).fit(sequences, labels)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from bioLM.embedding.embed import EmbedOptions, embed
from bioLM.embedding.pooling import VECTOR_POOLINGS, check_pooling
from bioLM.errors import ConfigError
from bioLM.model.loading import load


class Embedder(TransformerMixin, BaseEstimator):
    """Embed sequences with a bioLM model: ``transform(X)`` -> ``(n_sequences, hidden_size)`` float32.

    ``layer``: hidden state index (negative allowed); ``pooling``: mean, max, last or first. The model is
    loaded by ``fit`` (which learns nothing else) and is not part of the pickled/cloned parameters.
    """

    def __init__(self, model_dir: str | Path, layer: int = -1, pooling: str = "mean", max_tokens: int = 16384,
                 window_overlap: int | None = None, reverse_complement_average: bool = False,
                 precision: str = "auto", device: str | None = None) -> None:
        self.model_dir = model_dir
        self.layer = layer
        self.pooling = pooling
        self.max_tokens = max_tokens
        self.window_overlap = window_overlap
        self.reverse_complement_average = reverse_complement_average
        self.precision = precision
        self.device = device

    def _check_sequences(self, X) -> list[str]:
        if isinstance(X, str) or not isinstance(X, Sequence | np.ndarray):
            raise ConfigError(f"Embedder expects a list of sequences (strings), got {type(X).__name__}")
        sequences = np.asarray(X, dtype=object).ravel().tolist() if isinstance(X, np.ndarray) else list(X)
        bad = [i for i, s in enumerate(sequences) if not isinstance(s, str)]
        if bad:
            raise ConfigError(f"Embedder expects strings; item {bad[0]} is {type(sequences[bad[0]]).__name__}")
        return sequences

    def fit(self, X, y=None) -> Embedder:
        """Load the model and tokenizer (``model_``, ``tokenizer_``); ``X`` and ``y`` are only validated."""
        self._check_sequences(X)
        if check_pooling(self.pooling) not in VECTOR_POOLINGS:
            raise ConfigError(f"Embedder pooling={self.pooling!r} must give one vector per sequence: "
                              f"one of {list(VECTOR_POOLINGS)}")
        self.model_, self.tokenizer_ = load(self.model_dir, device=self.device)
        return self

    def transform(self, X) -> np.ndarray:
        """Embeddings ``(n_sequences, hidden_size)`` of the sequences ``X``, in order."""
        check_is_fitted(self, "model_")
        sequences = self._check_sequences(X)
        options = EmbedOptions(max_tokens=self.max_tokens, window_overlap=self.window_overlap,
                               reverse_complement_average=self.reverse_complement_average,
                               precision=self.precision)
        result = embed(sequences, self.model_, self.tokenizer_, [self.layer], self.pooling, options=options)
        self.n_features_out_ = int(result[self.layer].shape[1]) if result else 0
        return result[self.layer] if result else np.zeros((0, 0), np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "model_")
        width = int(self.model_.config.hidden_size)
        return np.asarray([f"embedding{i}" for i in range(width)], dtype=object)
