"""Abstractive summarization: write a short new representation of the items (dimension reduction).

- On a matrix (samples x features, or several feature blocks of the same samples): a supervised reducer
  that starts from the solutions an analyst would use (PLS on the classes, linear discriminants with a
  shrunk covariance, PCA) and adds only what they miss (a non-linear correction: products of the features that
  extremely randomized trees rank highest, deflated against the linear components); the candidate, and
  with it the regularization, is chosen by K-fold CV on the training data only (:mod:`bioLM.summarize._reduce`).
  Unsupervised (``fit(X)``): PCA. With blocks, each block is scaled to the same total variance.
- On sequences: ``m`` learned latent queries cross-attend over the tokens (a Perceiver-style bottleneck)::

      t = tokens(x)                              # (n, L, h)
      z = CrossAttention(latents, t)             # (n, m, h), then a residual feed-forward block
      s = Linear(flatten(z) or mean_m(z))        # (n, n_components): what transform returns

  trained with a linear classifier / regressor on ``s`` (``fit(X, y)``) or a small decoder that
  reconstructs the mean token embedding (``fit(X)``).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted
from torch import nn

from bioLM.errors import ConfigError, InputFormatError
from bioLM.summarize import _torch as T
from bioLM.summarize._reduce import Coords, choose, fit_candidate, span_basis
from bioLM.summarize.blocks import block_weights
from bioLM.summarize.tabular import Standardizer, fit_matrix, is_classification, transform_matrix


class _AbstractiveNet(nn.Module):
    def __init__(self, width: int, hidden: int, n_latents: int, n_heads: int,
                 n_components: int, summary: str, out_dim: int, supervised: bool) -> None:
        super().__init__()
        self.summary = summary
        self.tokens = T.SequenceTokens(width, hidden)
        self.cross = T.LatentCrossAttention(n_latents, hidden, n_heads)
        self.project = nn.Linear(n_latents * hidden if summary == "flatten" else hidden, n_components)
        self.head = (nn.Linear(n_components, out_dim) if supervised else
                     nn.Sequential(nn.Linear(n_components, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, out_dim)))

    def latents(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.cross(self.tokens(x), mask)  # (n, m, h)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        z = self.latents(x, mask)
        z = z.flatten(1) if self.summary == "flatten" else z.mean(dim=1)
        return self.project(z)  # (n, n_components)


class AbstractiveSummarizer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Reduction of a matrix, feature blocks or sequence embeddings to ``n_components`` dims.

    Parameters
    ----------
    n_components : output dimensions of :meth:`transform`.
    nonlinear : let the CV consider the quadratic correction on top of the best linear candidate (matrices).
    n_folds : folds of the internal CV that picks the candidate (matrices).
    n_latents : number of latent queries m (None: ``n_components``) (sequences).
    summary : "flatten" (m x h -> n_components) or "pool" (mean over latents, h -> n_components) (sequences).
    hidden_size, n_heads : width of tokens and latents; attention heads (must divide hidden_size) (sequences).
    max_epochs, batch_size, learning_rate, weight_decay : the training loop (AdamW) (sequences).
    task : "auto", "classification" or "regression" (used when y is given).
    random_state : seed; the same seed gives the same model.
    """

    def __init__(self, n_components: int = 2, nonlinear: bool = True, n_folds: int = 3,
                 n_latents: int | None = None, summary: str = "flatten",
                 hidden_size: int = 16, n_heads: int = 1, max_epochs: int = 30, batch_size: int = 128,
                 learning_rate: float = 0.01, weight_decay: float = 1e-4, task: str = "auto",
                 random_state: int | None = None) -> None:
        self.n_components = n_components
        self.nonlinear = nonlinear
        self.n_folds = n_folds
        self.n_latents = n_latents
        self.summary = summary
        self.hidden_size = hidden_size
        self.n_heads = n_heads
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.task = task
        self.random_state = random_state

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def _check_params(self) -> None:
        for name in ("n_components", "hidden_size", "n_heads"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name}={value!r} is not valid; use a positive integer")
        if not isinstance(self.n_folds, (int, np.integer)) or self.n_folds < 2:
            raise ConfigError(f"n_folds={self.n_folds!r} is not valid; use an integer >= 2")
        if self.n_latents is not None and (not isinstance(self.n_latents, (int, np.integer))
                                           or self.n_latents < 1):
            raise ConfigError(f"n_latents={self.n_latents!r} is not valid; use a positive integer or None")
        if self.summary not in ("flatten", "pool"):
            raise ConfigError(f"summary={self.summary!r} is not valid; use 'flatten' or 'pool'")
        if self.hidden_size % self.n_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} is not divisible by n_heads={self.n_heads}")

    # ---- matrices --------------------------------------------------------------------------------
    def _coordinates(self, X: np.ndarray) -> tuple[np.ndarray, Coords]:
        """(standardized, block-weighted features (n, p); span coordinates of those and of the centred ones)."""
        Xs = self.standardizer_(X) * self.weights_
        Xc = X - self.standardizer_.mean
        return Xs, Coords(Xs if self.basis_ is None else Xs @ self.basis_,
                          Xc if self.basis_raw_ is None else Xc @ self.basis_raw_)

    def _fit_matrix(self, X, y) -> AbstractiveSummarizer:
        X, y = fit_matrix(self, X, y)
        self.input_kind_ = "tabular"
        self.standardizer_ = Standardizer(X)
        blocks = getattr(self, "feature_blocks_", None)
        self.weights_ = (np.ones(X.shape[1]) if blocks is None
                         else block_weights(np.unique(blocks, return_inverse=True)[1]))
        self.basis_ = span_basis(self.standardizer_(X) * self.weights_)
        self.basis_raw_ = span_basis(X - self.standardizer_.mean)
        Xs, coords = self._coordinates(X)
        seed = T.seed_for(self.random_state)
        self.cv_scores_ = {}
        if y is None:
            self.method_, classification = "pca", False
        else:
            classification = is_classification(y, self.task)
            y = y if classification else y.astype(float)
            self.method_ = "pls"
            small = len(y) < 2 * self.n_folds or (classification and len(np.unique(y)) < 2)
            if not small:
                self.method_, self.cv_scores_ = choose(Xs, coords, y, self.n_components, classification,
                                                       self.n_folds, self.nonlinear, seed)
        target = y if y is not None else np.zeros(len(X))
        self.reduction_ = fit_candidate(self.method_, Xs, coords, target, self.n_components, classification,
                                        seed)
        return self

    def _transform_matrix(self, X) -> np.ndarray:
        Xs, coords = self._coordinates(transform_matrix(self, X))
        Z = self.reduction_(Xs, coords)
        if Z.shape[1] < self.n_components:  # fewer directions than asked for (rank): zero columns
            Z = np.hstack([Z, np.zeros((len(Z), self.n_components - Z.shape[1]))])
        return Z

    # ---- sequences -------------------------------------------------------------------------------
    def _sequence_inputs(self, X, mask: np.ndarray | None, reset: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Validated sequence input as (values, item mask); sets n_features_in_ on reset."""
        items = T.pad_items(X, mask)
        if reset:
            self.input_kind_ = "sequence"
            self.n_features_in_ = items.values.shape[2]
        elif self.input_kind_ != "sequence" or items.values.shape[2] != self.n_features_in_:
            raise InputFormatError(f"embeddings of width {items.values.shape[2]} do not match the fit "
                                   f"({self.input_kind_}, width {self.n_features_in_})")
        return T.as_tensor(items.values), torch.as_tensor(items.mask)

    def fit(self, X, y=None, mask: np.ndarray | None = None) -> AbstractiveSummarizer:
        """Supervised with ``y``, otherwise PCA (matrices) / trained to reconstruct (sequences); returns self."""
        self._check_params()
        if not T.is_sequence_input(X):
            return self._fit_matrix(X, y)
        values, item_mask = self._sequence_inputs(X, mask, reset=True)
        supervised = y is not None
        if supervised:
            y = column_or_1d(y, warn=True)
            if len(y) != len(values):
                raise InputFormatError(f"y has {len(y)} values for {len(values)} samples")
            target = T.encode_target(y, self.task)
        else:
            recon = (values * item_mask.unsqueeze(-1)).sum(1) / item_mask.sum(1, keepdim=True)
            target = T.Target(recon, None, recon.shape[1])
        seed = T.seed_for(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _AbstractiveNet(values.shape[2], self.hidden_size, self.n_latents or self.n_components,
                                  self.n_heads, self.n_components, self.summary, target.out_dim,
                                  supervised).to(T.DTYPE)

        def batch_loss(index: torch.Tensor) -> torch.Tensor:
            output = net.head(net(values[index], item_mask[index]))
            if supervised:
                return target.loss(output, index)
            return nn.functional.mse_loss(output, target.tensor[index])

        config = T.TrainConfig(self.max_epochs, self.batch_size, self.learning_rate, self.weight_decay)
        self.loss_curve_ = T.train(net, batch_loss, len(values), config, torch.Generator().manual_seed(seed))
        self.module_ = net
        self.target_classes_ = target.classes
        return self

    def transform(self, X, mask: np.ndarray | None = None) -> np.ndarray:
        """(n, n_components) summary of each sample."""
        check_is_fitted(self)
        if self.input_kind_ == "tabular" and not T.is_sequence_input(X):
            return self._transform_matrix(X)
        values, item_mask = self._sequence_inputs(X, mask, reset=False)
        return T.batched(lambda i: self.module_(values[i], item_mask[i]), len(values))

    def transform_latents(self, X, mask: np.ndarray | None = None) -> np.ndarray:
        """(n, m, hidden_size) latent summaries before the final projection (sequences)."""
        check_is_fitted(self)
        values, item_mask = self._sequence_inputs(X, mask, reset=False)
        return T.batched(lambda i: self.module_.latents(values[i], item_mask[i]), len(values))
