"""Extractive summarization: keep the few original items that matter (feature selection).

- On a matrix (samples x features, or several feature blocks of the same samples) it is a scikit-learn
  selector built from what each standard selector exploits: stability selection over repeated 5-fold
  resamples, where the selection criterion (univariate F, stepwise discriminant analysis, sparse L1
  logistic, group-sparse multinomial logistic, L2 logistic weights, extremely randomized trees, their union or consensus,
  class-balanced one-vs-rest markers, interaction screening of pairwise products; opt-in: grafting on the
  consumer's logistic loss) and a redundancy filter are chosen by held-out score on the training data only
  (:mod:`bioLM.summarize._stability`). ``scores_`` is each feature's selection frequency; ``get_support``,
  ``transform`` and ``get_feature_names_out`` come from :class:`~sklearn.feature_selection.SelectorMixin`;
  with blocks, ``get_feature_blocks_out`` names the block of each kept feature.
- On sequences (``(n, L, d)`` with an optional ``mask``, or a list of ``(L_i, d)`` arrays) relevance is per
  sample, from a small attention head trained on the labels::

      s_i = w^T tanh(W t_i);  a = softmax(s);  y^ = Linear(sum_i a_i t_i)

  :meth:`score_items`, :meth:`selected_positions`, :meth:`selected_items` (positions mapped to 0-based
  half-open base coordinates through the tokenizer offsets, with the bases under them), and
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
from sklearn.utils.validation import check_is_fitted
from torch import nn

from bioLM.errors import ConfigError, InputFormatError
from bioLM.summarize import _torch as T
from bioLM.summarize._stability import AUTO_CRITERIA, CRITERIA, applicable, stability_select
from bioLM.summarize.blocks import is_block_input
from bioLM.summarize.tabular import Standardizer, fit_matrix, is_classification, transform_matrix


class _ExtractiveNet(nn.Module):
    def __init__(self, width: int, hidden: int, n_heads: int, out_dim: int) -> None:
        super().__init__()
        self.tokens = T.SequenceTokens(width, hidden)
        self.scorer = T.AttentionScorer(hidden, n_heads)
        self.head = nn.Linear(n_heads * hidden, out_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (prediction (n, out), attention averaged over heads (n, L))."""
        tokens = self.tokens(x)  # (n, L, h)
        attention = torch.softmax(self.scorer(tokens, mask), dim=1)  # (n, L, H)
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
    """Selection of items: features of a matrix (or of feature blocks), or token positions of sequences.

    Parameters
    ----------
    k : int or "all", items kept (per sample for sequences); ignored when ``threshold`` is set.
    threshold : float or None, keep items whose score is >= threshold (matrices: selection frequency;
        sequences: attention), both in [0, 1].
    criteria : "auto" (:data:`~bioLM.summarize._stability.AUTO_CRITERIA`: every criterion but ``graft``) or
        a tuple of names from :data:`~bioLM.summarize._stability.CRITERIA`: the candidates the held-out folds
        choose from (matrices). ``("graft",)``: forward selection on the multinomial logistic loss
        (:mod:`bioLM.summarize._graft`), ordered by stability over the resamples. A named criterion that does
        not apply to the task (class criteria for regression, ``group`` for two classes) is dropped with a
        warning.
    redundancy : tuple of correlation cut-offs the held-out folds choose from; 1.0 keeps correlated
        features, 0.9 skips a feature correlated >= 0.9 with one already kept (matrices).
    n_repeats : repeats of 5-fold cross-fitting (5 * n_repeats resamples; a rival to the default criterion must
        keep its lead when as many fresh repeats are added) (matrices).
    hidden_size, n_heads, item_dropout, max_epochs, batch_size, learning_rate, weight_decay : the attention
        head trained on sequences (AdamW; item dropout hides tokens at random so relevance spreads over all
        the tokens that carry signal).
    task : "auto", "classification" or "regression".
    random_state : seed; the same seed gives the same selection.
    n_jobs : threads over the resamples (matrices; None: one, -1: every core); the selection does not depend on it.
    """

    def __init__(self, k: int | str = 10, threshold: float | None = None, criteria: str | tuple = "auto",
                 redundancy: tuple[float, ...] = (1.0, 0.9, 0.7), n_repeats: int = 2,
                 hidden_size: int = 16, n_heads: int = 1, item_dropout: float = 0.3,
                 max_epochs: int = 30, batch_size: int = 128, learning_rate: float = 0.02,
                 weight_decay: float = 0.0, task: str = "auto", random_state: int | None = None,
                 n_jobs: int | None = None) -> None:
        self.k = k
        self.threshold = threshold
        self.criteria = criteria
        self.redundancy = redundancy
        self.n_repeats = n_repeats
        self.hidden_size = hidden_size
        self.n_heads = n_heads
        self.item_dropout = item_dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.task = task
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, mask: np.ndarray | None = None) -> ExtractiveSummarizer:
        """Fit on ``(X, y)``; ``X`` a matrix, feature blocks or sequence embeddings (see module doc)."""
        self._check_params()
        if T.is_sequence_input(X):
            return self._fit_sequences(X, y, mask)
        X, y = fit_matrix(self, X, y)
        classification = is_classification(y, self.task)
        if classification and len(np.unique(y)) < 2:
            raise ValueError(f"y has 1 class ({np.unique(y)[0]!r}); selection needs at least 2 classes")
        self.input_kind_ = "tabular"
        criteria = AUTO_CRITERIA if self.criteria == "auto" else tuple(self.criteria)
        n_classes = len(np.unique(y)) if classification else 0
        used = applicable(criteria, n_classes)
        if self.criteria != "auto" and used != criteria:
            task = f"{n_classes} classes" if classification else "regression"
            warnings.warn(f"criteria {sorted(set(criteria) - set(used))} do not apply to {task}; using {used}",
                          UserWarning, stacklevel=2)
        k = X.shape[1] if self.k == "all" else min(int(self.k), X.shape[1])
        result = stability_select(Standardizer(X)(X), y if classification else y.astype(float), k,
                                  classification, criteria, tuple(float(r) for r in self.redundancy),
                                  int(self.n_repeats), T.seed_for(self.random_state), self.n_jobs)
        self.scores_ = result.scores
        self.ranking_ = result.order
        self.criterion_, self.rho_, self.cv_scores_ = result.criterion, result.rho, result.cv_scores
        return self

    def _fit_sequences(self, X, y, mask: np.ndarray | None) -> ExtractiveSummarizer:
        items = T.pad_items(X, mask)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        if len(y) != len(items.values):
            raise InputFormatError(f"y has {len(y)} labels for {len(items.values)} sequences")
        self.input_kind_ = "sequence"
        self.n_features_in_ = items.values.shape[2]
        values, item_mask = T.as_tensor(items.values), torch.as_tensor(items.mask)
        target = T.encode_target(y, self.task)
        seed = T.seed_for(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _ExtractiveNet(values.shape[2], self.hidden_size, self.n_heads, target.out_dim).to(T.DTYPE)
        generator = torch.Generator().manual_seed(seed)

        def batch_loss(index: torch.Tensor) -> torch.Tensor:
            m = T.drop_items(item_mask[index], self.item_dropout, generator)
            return target.loss(net(values[index], m)[0], index)

        config = T.TrainConfig(self.max_epochs, self.batch_size, self.learning_rate, self.weight_decay)
        self.loss_curve_ = T.train(net, batch_loss, len(values), config, generator)
        self.module_ = net
        self.target_classes_ = target.classes
        return self

    def _check_params(self) -> None:
        if not (self.k == "all" or (isinstance(self.k, (int, np.integer)) and self.k >= 1)):
            raise ConfigError(f"k={self.k!r} is not valid; use a positive integer or 'all'")
        if self.threshold is not None and not 0.0 <= float(self.threshold) <= 1.0:
            raise ConfigError(f"threshold={self.threshold!r} is not a score in [0, 1]")
        unknown = [] if self.criteria == "auto" else [c for c in self.criteria if c not in CRITERIA]
        if unknown or not (self.criteria == "auto" or len(self.criteria)):
            raise ConfigError(f"criteria={self.criteria!r} is not valid; use 'auto' or names from {CRITERIA}")
        if not self.redundancy or not all(0.0 < float(r) <= 1.0 for r in self.redundancy):
            raise ConfigError(f"redundancy={self.redundancy!r} is not valid; use correlations in (0, 1]")
        if not isinstance(self.n_repeats, (int, np.integer)) or self.n_repeats < 1:
            raise ConfigError(f"n_repeats={self.n_repeats!r} is not valid; use a positive integer")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, (int, np.integer)) or self.n_jobs == 0):
            raise ConfigError(f"n_jobs={self.n_jobs!r} is not valid; use None, a positive integer or -1 (every core)")

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
        if self.threshold is not None:
            return self.scores_ >= self.threshold
        n = len(self.scores_)
        if self.k == "all":
            return np.ones(n, dtype=bool)
        if self.k > n:
            warnings.warn(f"k={self.k} is greater than n_features={n}. All the features will be kept.",
                          UserWarning, stacklevel=3)
            return np.ones(n, dtype=bool)
        keep = np.zeros(n, dtype=bool)
        keep[self.ranking_[:self.k]] = True
        return keep

    def get_feature_blocks_out(self) -> np.ndarray:
        """Block name of each kept feature (fitted on blocks only)."""
        check_is_fitted(self, "feature_blocks_")
        return self.feature_blocks_[self.get_support()]

    def _top(self, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of the kept tokens of one sequence (top-k or attention >= threshold)."""
        if self.threshold is not None:
            return scores >= self.threshold
        keep = np.zeros(len(scores), dtype=bool)
        keep[np.argsort(-scores, kind="stable")[:len(scores) if self.k == "all" else self.k]] = True
        return keep

    def transform(self, X, mask: np.ndarray | None = None):
        """Matrix: the selected columns. Sequences: mean embedding of the selected tokens, (n, d)."""
        if is_block_input(X) or getattr(self, "block_names_", None) is not None:
            check_is_fitted(self)
            return transform_matrix(self, X)[:, self.get_support()]
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
