"""Long sequences: windows of the model's context, and their aggregation back to one sequence.

A sequence of ``n`` tokens longer than the context ``w`` (tokens per window, ``<bos>`` excluded) is cut into
windows of ``w`` tokens that start every ``w - overlap`` tokens; the last window is aligned to the end of the
sequence (so it may overlap its neighbour by more than ``overlap``). Every window is embedded on its own and
the per-token states are put back in place: **where windows overlap, the states are averaged** (each window
counts once). Tokens covered by one window keep exactly that window's states. Pooling (mean, max, ...) is then
applied to the aggregated per-token states, so a windowed sequence is pooled like any other. Nothing is ever
truncated: a sequence that does not fit and for which no windowing was asked is an error.

Memory: mean pooling streams (:class:`WindowMean`, O(tokens) numbers); the other poolings and per-token /
per-base outputs hold the ``(n_tokens, H)`` float32 states of one sequence at a time.
"""

from __future__ import annotations

import numpy as np

from bioLM.errors import ConfigError


def window_starts(n_tokens: int, window: int, overlap: int) -> list[int]:
    """Start offsets (in tokens) of the windows that cover ``n_tokens`` tokens; one window when it fits."""
    if window < 1:
        raise ConfigError(f"window={window} tokens must be at least 1")
    if not 0 <= overlap < window:
        raise ConfigError(f"window overlap={overlap} must be >= 0 and smaller than the window ({window} tokens)")
    if n_tokens <= window:
        return [0]
    step = window - overlap
    starts = list(range(0, n_tokens - window, step))
    starts.append(n_tokens - window)
    return starts


class WindowAggregator:
    """Accumulates the per-token states ``(w, H)`` of the windows of one sequence of ``n_tokens`` tokens.

    ``add(start, states)`` for each window; ``result()`` gives ``(n_tokens, H)`` float32, overlaps averaged.
    """

    def __init__(self, n_tokens: int, hidden_size: int) -> None:
        self.total = np.zeros((n_tokens, hidden_size), dtype=np.float32)
        self.count = np.zeros(n_tokens, dtype=np.int32)

    def add(self, start: int, states: np.ndarray) -> None:
        """Add the states ``(w, H)`` of the window starting at token ``start``."""
        self.total[start:start + len(states)] += states
        self.count[start:start + len(states)] += 1

    def result(self) -> np.ndarray:
        """The aggregated states ``(n_tokens, H)``; raises if a token was covered by no window."""
        if np.any(self.count == 0):
            missing = int(np.argmax(self.count == 0))
            raise RuntimeError(f"token {missing} was not covered by any window")
        if np.all(self.count == 1):
            return self.total
        return self.total / self.count[:, None]


class WindowMean:
    """The mean over tokens of the aggregated states, without keeping them: ``(H,)`` in O(n_tokens) memory.

    Same result as ``WindowAggregator(...).result().mean(0)``: each window's token ``t`` is weighted by
    ``1 / coverage[t]`` (the number of windows covering it), known in advance from the window spans.
    """

    def __init__(self, spans: list[tuple[int, int]], hidden_size: int) -> None:
        n_tokens = max(start + length for start, length in spans)
        self.coverage = np.zeros(n_tokens, dtype=np.float32)
        for start, length in spans:
            self.coverage[start:start + length] += 1
        self.total = np.zeros(hidden_size, dtype=np.float64)

    def add(self, start: int, states: np.ndarray) -> None:
        """Add the states ``(w, H)`` of the window starting at token ``start``."""
        weights = 1.0 / self.coverage[start:start + len(states)]
        self.total += weights @ states.astype(np.float64)

    def result(self) -> np.ndarray:
        return (self.total / len(self.coverage)).astype(np.float32)
