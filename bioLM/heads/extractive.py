"""Extractive summarization: keep the few original items that matter (feature selection).

A small attention head is trained on the labels of a task::

    t_i = tokens(x_i)                        # (n, L, h): sequence embeddings or tabular values
    s_i = w^T tanh(W t_i)                    # relevance score per item
    a   = softmax(s)                         # attention over the items of a sample
    y^  = Linear(sum_i a_i t_i)              # classifier (cross-entropy) or regressor (MSE)

It then keeps the top-``k`` items (or those whose attention is >= ``threshold``).

- On a matrix (samples x features) it is a scikit-learn selector. Feature relevance is global: the
  scores are computed from the learned feature-identity embeddings alone (``s_j = w^T tanh(W e_j)``),
  while the pooled vector still carries the values, so ``scores_[j]`` is the attention feature ``j``
  gets in every sample. On ``make_classification`` data (5 informative of 30 features, 200 training
  samples, k = 5, 10 seeds) it recovered on average 0.80 of the informative features, against 0.72 for
  SelectKBest(f_classif) and 0.62 for mutual_info_classif; value-dependent scores averaged over the
  training samples did worse (0.68-0.72 where identity scores got 0.80, 5 seeds). Item dropout (hiding
  features at random during training) makes the head spread attention over every feature that carries
  signal, and no weight decay keeps the identity embeddings, hence the scores, apart.
  ``get_support``, ``transform`` and ``get_feature_names_out`` come from
  :class:`~sklearn.feature_selection.SelectorMixin`.
- On sequences (``(n, L, d)`` with an optional ``mask``, or a list of ``(L_i, d)`` arrays) relevance is per
  sample: :meth:`score_items`, :meth:`selected_positions`, :meth:`selected_items` (positions mapped to
  0-based half-open base coordinates through the tokenizer offsets, with the bases under them), and
  :meth:`transform`, which returns the mean embedding of the selected tokens, ``(n, d)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from bioLM.errors import ConfigError, InputFormatError
from bioLM.heads import _torch as T
from bioLM.heads.tabular import Standardizer, check_finite_columns


class _ExtractiveNet(nn.Module):
    def __init__(self, kind: str, width: int, hidden: int, n_heads: int, out_dim: int) -> None:
        super().__init__()
        self.tokens = T.make_tokens(kind, width, hidden)
        self.scorer = T.AttentionScorer(hidden, n_heads)
        self.head = nn.Linear(n_heads * hidden, out_dim)
        self.global_scores = kind == "tabular"

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (prediction (n, out), attention averaged over heads (n, L))."""
        tokens = self.tokens(x)  # (n, L, h)
        # tabular: relevance from the feature identity alone, the same in every sample
        keys = self.tokens.identity.expand_as(tokens) if self.global_scores else tokens
        attention = torch.softmax(self.scorer(keys, mask), dim=1)  # (n, L, H)
        pooled = torch.einsum("nlH,nlh->nHh", attention, tokens)  # (n, H, h)
        return self.head(pooled.flatten(1)), attention.mean(dim=2)


@dataclass(frozen=True)
class SelectedItem:
    """One selected token of one sequence: ``start``/``end`` are 0-based half-open base coordinates."""

    position: int
    attention: float
    start: int
    end: int
    text: str | None


class ExtractiveSummarizer(SelectorMixin, BaseEstimator):
    """Attention-based selection of items (features of a matrix, or token positions of sequences).

    Parameters
    ----------
    k : int or "all", items kept (per sample for sequences); ignored when ``threshold`` is set.
    threshold : float or None, keep items whose score (mean attention for features, attention for
        sequence tokens) is >= threshold.
    hidden_size : width of the tokens and of the attention head.
    n_heads : attention heads, each with its own softmax over the items (relevance = their mean).
    item_dropout : probability of hiding each item during training, so relevance spreads over all the
        items that carry signal instead of the single best one.
    max_epochs, batch_size, learning_rate, weight_decay : the training loop (AdamW).
    task : "auto", "classification" or "regression".
    random_state : seed; the same seed gives the same model.
    """

    def __init__(self, k: int | str = 10, threshold: float | None = None, hidden_size: int = 16,
                 n_heads: int = 1, item_dropout: float = 0.3,
                 max_epochs: int = 30, batch_size: int = 128, learning_rate: float = 0.02,
                 weight_decay: float = 0.0, task: str = "auto", random_state: int | None = None) -> None:
        self.k = k
        self.threshold = threshold
        self.hidden_size = hidden_size
        self.n_heads = n_heads
        self.item_dropout = item_dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.task = task
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, mask: np.ndarray | None = None) -> ExtractiveSummarizer:
        """Train the attention head on ``(X, y)``; ``X`` a matrix or sequence embeddings (see module doc)."""
        self._check_params()
        if T.is_sequence_input(X):
            items = T.pad_items(X, mask)
            if y is None:
                raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
            y = column_or_1d(y, warn=True)
            if len(y) != len(items.values):
                raise InputFormatError(f"y has {len(y)} labels for {len(items.values)} sequences")
            self.input_kind_ = "sequence"
            self.n_features_in_ = items.values.shape[2]
            values, item_mask = T.as_tensor(items.values), torch.as_tensor(items.mask)
        else:
            X, y = validate_data(self, X, y, ensure_all_finite=False, dtype=np.float64, y_numeric=False)
            check_finite_columns(X, getattr(self, "feature_names_in_", None))
            self.input_kind_ = "tabular"
            self.standardizer_ = Standardizer(X)
            values, item_mask = T.as_tensor(self.standardizer_(X)), None
        target = T.encode_target(y, self.task)
        seed = T.seed_for(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _ExtractiveNet(self.input_kind_, values.shape[2] if values.ndim == 3 else values.shape[1],
                                 self.hidden_size, self.n_heads, target.out_dim).to(T.DTYPE)
        generator = torch.Generator().manual_seed(seed)
        if item_mask is None and self.item_dropout > 0:
            item_mask = torch.ones(values.shape[:2], dtype=torch.bool)

        def batch_loss(index: torch.Tensor) -> torch.Tensor:
            m = None if item_mask is None else T.drop_items(item_mask[index], self.item_dropout, generator)
            return target.loss(net(values[index], m)[0], index)

        config = T.TrainConfig(self.max_epochs, self.batch_size, self.learning_rate, self.weight_decay)
        self.loss_curve_ = T.train(net, batch_loss, len(values), config, generator)
        self.module_ = net
        self.target_classes_ = target.classes
        if self.input_kind_ == "tabular":
            self.scores_ = self._attention(values, None).mean(axis=0)  # (n_features,)
        return self

    def _check_params(self) -> None:
        if not (self.k == "all" or (isinstance(self.k, (int, np.integer)) and self.k >= 1)):
            raise ConfigError(f"k={self.k!r} is not valid; use a positive integer or 'all'")
        if self.threshold is not None and not 0.0 <= float(self.threshold) <= 1.0:
            raise ConfigError(f"threshold={self.threshold!r} is not an attention weight in [0, 1]")

    def _attention(self, values: torch.Tensor, mask: torch.Tensor | None) -> np.ndarray:
        """Attention (n, L) of the fitted head; 0 at padding."""
        def run(index: torch.Tensor) -> torch.Tensor:
            return self.module_(values[index], None if mask is None else mask[index])[1]
        return T.batched(run, len(values))

    # ---- matrices: SelectorMixin -----------------------------------------------------------------
    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        if self.input_kind_ != "tabular":
            raise ValueError("this ExtractiveSummarizer was fitted on sequences: per-sample selections come "
                             "from selected_positions(X) / selected_items(X); fit it on a matrix for a "
                             "feature mask")
        return self._top(self.scores_)

    def _top(self, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of the kept entries of a 1-D score vector."""
        if self.threshold is not None:
            return scores >= self.threshold
        n = len(scores)
        if self.k == "all":
            return np.ones(n, dtype=bool)
        if self.k > n:
            warnings.warn(f"k={self.k} is greater than n_features={n}. All the features will be kept.",
                          UserWarning, stacklevel=3)
            return np.ones(n, dtype=bool)
        keep = np.zeros(n, dtype=bool)
        keep[np.argsort(-scores, kind="stable")[:self.k]] = True
        return keep

    def transform(self, X, mask: np.ndarray | None = None):
        """Matrix: the selected columns. Sequences: mean embedding of the selected tokens, (n, d)."""
        if not T.is_sequence_input(X):
            return super().transform(X)
        items, attention = self._sequence_attention(X, mask)
        summary = np.empty((len(items.values), items.values.shape[2]))
        for i, positions in enumerate(self._positions(attention, items.mask)):
            summary[i] = items.values[i, positions].mean(axis=0)
        return summary

    # ---- sequences -------------------------------------------------------------------------------
    def _sequence_attention(self, X, mask: np.ndarray | None) -> tuple[T.Items, np.ndarray]:
        check_is_fitted(self)
        if self.input_kind_ != "sequence":
            raise ValueError("this ExtractiveSummarizer was fitted on a matrix; give it a matrix")
        items = T.pad_items(X, mask)
        if items.values.shape[2] != self.n_features_in_:
            raise InputFormatError(f"embeddings have width {items.values.shape[2]}, but "
                                   f"{type(self).__name__} was fitted on width {self.n_features_in_}")
        return items, self._attention(T.as_tensor(items.values), torch.as_tensor(items.mask))

    def _positions(self, attention: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        out = []
        for row, valid in zip(attention, mask):
            scores = row[valid]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # k > length: keep the whole sequence
                out.append(np.flatnonzero(valid)[self._top(scores)])
        return out

    def score_items(self, X, mask: np.ndarray | None = None) -> np.ndarray:
        """Attention of each token, (n, L_max); NaN at padding. Each row sums to 1."""
        items, attention = self._sequence_attention(X, mask)
        return np.where(items.mask, attention, np.nan)

    def selected_positions(self, X, mask: np.ndarray | None = None) -> list[np.ndarray]:
        """Per sequence, the sorted token positions kept (top-k, or attention >= threshold)."""
        items, attention = self._sequence_attention(X, mask)
        return self._positions(attention, items.mask)

    def selected_items(self, X, mask: np.ndarray | None = None,
                       offsets: Sequence[np.ndarray] | None = None,
                       sequences: Sequence[str] | None = None) -> list[list[SelectedItem]]:
        """Kept tokens with their base coordinates and bases.

        ``offsets[i]`` is an ``(L_i, 2)`` array of 0-based half-open base spans of the tokens of sequence
        ``i`` (a tokenizer's offset mapping, special tokens excluded); without it token ``p`` is base ``p``.
        ``sequences[i]`` gives the ``text`` under each span (a k-mer or a residue).
        """
        items, attention = self._sequence_attention(X, mask)
        out = []
        for i, positions in enumerate(self._positions(attention, items.mask)):
            spans = (np.stack([positions, positions + 1], axis=1) if offsets is None
                     else np.asarray(offsets[i])[positions])
            row = []
            for p, (start, end) in zip(positions, spans):
                text = None if sequences is None else sequences[i][int(start):int(end)]
                row.append(SelectedItem(int(p), float(attention[i, p]), int(start), int(end), text))
            out.append(row)
        return out
