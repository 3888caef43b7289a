"""Abstractive summarization: write a short new representation of the items (dimension reduction).

``m`` learned latent queries cross-attend over the items (a Perceiver-style bottleneck)::

    t = tokens(x)                              # (n, L, h): sequence embeddings or tabular values
    z = CrossAttention(latents, t)             # (n, m, h), then a residual feed-forward block
    s = Linear(flatten(z) or mean_m(z))        # (n, n_components): what transform returns

Training signal:
- supervised (``fit(X, y)``): a linear classifier (cross-entropy) or regressor (MSE) on ``s``, so the
  components are linearly predictive of the task, which is what a downstream linear model needs;
- unsupervised (``fit(X)``): a small decoder reconstructs the input from ``s``: the standardized feature
  values of a matrix, or the mean token embedding of a sequence (token order is not modelled).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from bioLM.errors import ConfigError, InputFormatError
from bioLM.heads import _torch as T
from bioLM.heads.tabular import Standardizer, check_finite_columns


class _AbstractiveNet(nn.Module):
    def __init__(self, kind: str, width: int, hidden: int, n_latents: int, n_heads: int,
                 n_components: int, summary: str, out_dim: int, supervised: bool) -> None:
        super().__init__()
        self.summary = summary
        self.tokens = T.make_tokens(kind, width, hidden)
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
    """Latent cross-attention reduction of a matrix or of sequence embeddings to ``n_components`` dims.

    Parameters
    ----------
    n_components : output dimensions of :meth:`transform`.
    n_latents : number of latent queries m (None: ``n_components``).
    summary : "flatten" (m x h -> n_components) or "pool" (mean over latents, h -> n_components).
    hidden_size, n_heads : width of tokens and latents; attention heads (must divide hidden_size).
    max_epochs, batch_size, learning_rate, weight_decay : the training loop (AdamW).
    task : "auto", "classification" or "regression" (used when y is given).
    random_state : seed; the same seed gives the same model.
    """

    def __init__(self, n_components: int = 2, n_latents: int | None = None, summary: str = "flatten",
                 hidden_size: int = 16, n_heads: int = 1, max_epochs: int = 30, batch_size: int = 128,
                 learning_rate: float = 0.01, weight_decay: float = 1e-4, task: str = "auto",
                 random_state: int | None = None) -> None:
        self.n_components = n_components
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
        if self.n_latents is not None and (not isinstance(self.n_latents, (int, np.integer))
                                           or self.n_latents < 1):
            raise ConfigError(f"n_latents={self.n_latents!r} is not valid; use a positive integer or None")
        if self.summary not in ("flatten", "pool"):
            raise ConfigError(f"summary={self.summary!r} is not valid; use 'flatten' or 'pool'")
        if self.hidden_size % self.n_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} is not divisible by n_heads={self.n_heads}")

    def _inputs(self, X, mask: np.ndarray | None, reset: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Validated input as (values, item mask); sets n_features_in_ and the standardizer on reset."""
        if T.is_sequence_input(X):
            items = T.pad_items(X, mask)
            if reset:
                self.input_kind_ = "sequence"
                self.n_features_in_ = items.values.shape[2]
            elif self.input_kind_ != "sequence" or items.values.shape[2] != self.n_features_in_:
                raise InputFormatError(f"embeddings of width {items.values.shape[2]} do not match the fit "
                                       f"({self.input_kind_}, width {self.n_features_in_})")
            return T.as_tensor(items.values), torch.as_tensor(items.mask)
        X = validate_data(self, X, reset=reset, ensure_all_finite=False, dtype=np.float64)
        check_finite_columns(X, getattr(self, "feature_names_in_", None))
        if reset:
            self.input_kind_ = "tabular"
            self.standardizer_ = Standardizer(X)
        elif self.input_kind_ != "tabular":
            raise ValueError("this AbstractiveSummarizer was fitted on sequences; give it sequences")
        return T.as_tensor(self.standardizer_(X)), None

    def fit(self, X, y=None, mask: np.ndarray | None = None) -> AbstractiveSummarizer:
        """Supervised with ``y``, otherwise trained to reconstruct its input; returns self."""
        self._check_params()
        values, item_mask = self._inputs(X, mask, reset=True)
        supervised = y is not None
        if supervised:
            y = column_or_1d(y, warn=True)
            if len(y) != len(values):
                raise InputFormatError(f"y has {len(y)} values for {len(values)} samples")
            target = T.encode_target(y, self.task)
        else:
            recon = values if item_mask is None else (
                (values * item_mask.unsqueeze(-1)).sum(1) / item_mask.sum(1, keepdim=True))
            target = T.Target(recon, None, recon.shape[1])
        seed = T.seed_for(self.random_state)
        width = values.shape[2] if item_mask is not None else values.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _AbstractiveNet(self.input_kind_, width, self.hidden_size, self.n_latents or self.n_components,
                                  self.n_heads, self.n_components, self.summary, target.out_dim,
                                  supervised).to(T.DTYPE)

        def batch_loss(index: torch.Tensor) -> torch.Tensor:
            m = None if item_mask is None else item_mask[index]
            output = net.head(net(values[index], m))
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
        values, item_mask = self._inputs(X, mask, reset=False)
        return T.batched(lambda i: self.module_(values[i], None if item_mask is None else item_mask[i]),
                         len(values))

    def transform_latents(self, X, mask: np.ndarray | None = None) -> np.ndarray:
        """(n, m, hidden_size) latent summaries before the final projection."""
        check_is_fitted(self)
        values, item_mask = self._inputs(X, mask, reset=False)
        return T.batched(lambda i: self.module_.latents(values[i], None if item_mask is None else item_mask[i]),
                         len(values))
