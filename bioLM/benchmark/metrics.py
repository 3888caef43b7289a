"""Metrics (:mod:`bioLM.metrics`, re-exported here) with 95% bootstrap confidence intervals and the spread over
seeds. :func:`summarize` bootstraps the *seed-averaged* metric: every replicate resamples
the test items once (same indices for every seed, since seeds change the model, not the test set) and
averages the metric over seeds, so the interval covers test-set sampling and the spread shows seed noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import bootstrap

from bioLM.errors import ConfigError
from bioLM.metrics import (  # noqa: F401 (re-exported: the benchmark's metric names)
    CLASSIFICATION,
    SCORES,
    MetricFn,
    accuracy,
    auroc,
    macro_accuracy,
    mcc,
    spearman,
)


@dataclass
class Estimate:
    """A metric: ``value`` (mean over seeds), 95% bootstrap ``ci``, per-seed values and their ``sd``."""

    value: float
    ci: tuple[float, float]
    seeds: list[float] = field(default_factory=list)
    sd: float = 0.0
    n: int = 0

    def as_dict(self) -> dict:
        return {"value": _clean(self.value), "ci": [_clean(self.ci[0]), _clean(self.ci[1])],
                "seeds": [_clean(v) for v in self.seeds], "sd": _clean(self.sd), "n": self.n}


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _percentile_ci(statistic: Callable[[np.ndarray], float], n: int, n_boot: int, seed: int,
                   level: float) -> tuple[float, float]:
    """Percentile CI of ``statistic(idx)`` over ``n_boot`` resamples ``idx`` of ``n`` items (undefined replicates,
    e.g. one class drawn, are dropped). Not ``scipy.stats.bootstrap``: it has no way to drop undefined replicates
    (one NaN makes the whole interval NaN), and a paired difference needs the same indices for both sides, which
    a statistic of the indices gives directly."""
    if n_boot < 1:
        raise ConfigError(f"n_boot={n_boot} must be >= 1")
    rng = np.random.default_rng(seed)
    values = np.asarray([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def bootstrap_ci(metric: MetricFn, y: np.ndarray, predictions: Sequence[np.ndarray], n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of ``mean_s metric(y[idx], predictions[s][idx])`` over ``n_boot`` resamples of the items.

    ``predictions``: one array per seed, first axis the N items. Replicates where the metric is undefined
    (e.g. one class drawn) are dropped. Deterministic for a given ``seed``.
    """
    y = np.asarray(y)
    return _percentile_ci(lambda idx: np.mean([metric(y[idx], p[idx]) for p in predictions]), len(y), n_boot,
                          seed, level)


def paired_difference(metric: MetricFn, y: np.ndarray, first: Sequence[np.ndarray], second: Sequence[np.ndarray],
                      n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """``metric(first) - metric(second)`` (each averaged over its seeds) on the same test items, with a paired
    bootstrap CI (both scored on the same resamples): ``verdict`` is ``better`` / ``worse`` when the CI excludes 0,
    else ``not resolved``."""
    y = np.asarray(y)

    def difference(idx: np.ndarray) -> float:
        return float(np.mean([metric(y[idx], p[idx]) for p in first]) -
                     np.mean([metric(y[idx], p[idx]) for p in second]))

    value = difference(np.arange(len(y)))
    low, high = _percentile_ci(difference, len(y), n_boot, seed, level)
    verdict = "better" if low > 0 else "worse" if high < 0 else "not resolved"
    return {"difference": _clean(value), "ci": [_clean(low), _clean(high)], "verdict": verdict}


def summarize(metric: MetricFn, y: np.ndarray, predictions: Sequence[np.ndarray], n_boot: int = 1000,
              seed: int = 0) -> Estimate:
    """Point estimate (mean over seeds), bootstrap CI, per-seed values and their standard deviation."""
    per_seed = [metric(np.asarray(y), np.asarray(p)) for p in predictions]
    finite = [v for v in per_seed if math.isfinite(v)]
    value = float(np.mean(finite)) if finite else float("nan")
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    ci = bootstrap_ci(metric, y, [np.asarray(p) for p in predictions], n_boot, seed)
    return Estimate(value, ci, per_seed, sd, len(y))


def ratio_ci(numerators: np.ndarray, denominators: np.ndarray, n_boot: int = 1000, seed: int = 0
             ) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` (e.g. bits per base over records) and its 95% bootstrap CI over units."""
    numerators, denominators = np.asarray(numerators, float), np.asarray(denominators, float)
    total = denominators.sum()
    value = float(numerators.sum() / total) if total else float("nan")
    if len(numerators) < 2:
        return value, value, value
    result = bootstrap((numerators, denominators), _ratio_of_sums, n_resamples=n_boot, paired=True,
                       vectorized=True, method="percentile", rng=np.random.default_rng(seed))
    return value, float(result.confidence_interval.low), float(result.confidence_interval.high)


def _ratio_of_sums(numerators: np.ndarray, denominators: np.ndarray, axis: int = -1) -> np.ndarray:
    return numerators.sum(axis) / denominators.sum(axis)
