"""``learning_curve.png``: train and validation bits per base against tokens seen, from the CSV logs."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def read_metric_logs(out_dir: str | Path) -> dict[str, dict[int, float]]:
    """Metric -> {step: value} from ``logs/metrics.csv`` (and, for runs of older bioLM versions, every
    ``logs/version_*/metrics.csv``, later versions winning)."""
    merged: dict[str, dict[int, float]] = {}
    files = sorted(Path(out_dir).glob("logs/version_*/metrics.csv"),
                   key=lambda p: int(p.parent.name.split("_")[-1]))
    files += [p for p in [Path(out_dir) / "logs" / "metrics.csv"] if p.is_file()]
    for path in files:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                step = row.get("step")
                if not step:
                    continue
                for key, value in row.items():
                    if key != "step" and value not in ("", None):
                        merged.setdefault(key, {})[int(float(step))] = float(value)
    return merged


def plot_learning_curve(out_dir: str | Path) -> Path | None:
    """Write ``<out_dir>/learning_curve.png``; returns its path (None when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = read_metric_logs(out_dir)
    series = [(name, label) for name, label in (("train_bits_per_base", "train"),
                                                 ("val_bits_per_base", "validation")) if metrics.get(name)]
    if not series:
        logger.warning("no bits-per-base metrics logged in %s; no learning curve", out_dir)
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    seen = metrics.get("tokens_seen", {})
    for name, label in series:
        steps = sorted(s for s in metrics[name] if s in seen)
        ax.plot([seen[s] for s in steps], [metrics[name][s] for s in steps],
                marker="o" if label == "validation" else None, label=label)
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("bits per base")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(out_dir) / "learning_curve.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
