"""Summarization heads as scikit-learn estimators.

- :class:`ExtractiveSummarizer`: keeps the items that matter (feature selection; a ``SelectorMixin`` on
  matrices, per-sample token selection on sequence embeddings).
- :class:`AbstractiveSummarizer`: latent queries cross-attend over the items (dimension reduction to
  ``n_components``; supervised or reconstruction-trained).

Both take a samples x features matrix (each feature a token: :mod:`bioLM.summarize.tabular`) or per-token
embeddings of sequences (a 3-D array ``(n, L, d)`` with an optional ``mask``, or a list of ``(L_i, d)``).
"""

from bioLM.summarize.abstractive import AbstractiveSummarizer
from bioLM.summarize.extractive import ExtractiveSummarizer, SelectedItem

__all__ = ["AbstractiveSummarizer", "ExtractiveSummarizer", "SelectedItem"]
