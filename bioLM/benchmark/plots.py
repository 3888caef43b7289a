"""PNG plots of a benchmark: per-task bars with 95% CIs (every evaluator and baseline), ROC curves (binary
tasks, seed 0), bits per base/residue against gzip / bzip2 / xz, and the pretraining learning curve."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
COLORS = {"evaluator": "tab:blue", "baseline": "tab:gray"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _bars(ax, labels: list[str], values: list, cis: list, colors: list[str]) -> None:
    x = np.arange(len(labels))
    heights = [np.nan if v is None else v for v in values]
    low = [0 if v is None or c[0] is None else v - c[0] for v, c in zip(values, cis)]
    high = [0 if v is None or c[1] is None else c[1] - v for v, c in zip(values, cis)]
    ax.bar(x, heights, color=colors, yerr=[low, high], capsize=4)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)


def task_bars(task: dict, path: Path) -> Path:
    """One panel per metric: a bar per method with its 95% bootstrap CI."""
    plt = _plt()
    rows = task["rows"]
    metric_names = list(rows[0]["metrics"])
    fig, axes = plt.subplots(1, len(metric_names), figsize=(3.2 * len(metric_names) + 1, 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metric_names):
        _bars(ax, [r["method"] for r in rows], [r["metrics"][metric]["value"] for r in rows],
              [r["metrics"][metric]["ci"] for r in rows], [COLORS[r["role"]] for r in rows])
        ax.set_title(metric)
    fig.suptitle(f"{task['name']} (test; bars: 95% bootstrap CI; blue: model, grey: baselines)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roc_curves(name: str, y: np.ndarray, probabilities: dict[str, np.ndarray], path: Path) -> Path | None:
    """ROC curve of every method (seed 0) on a binary task."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if len(np.unique(y)) != 2:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    for method, p in probabilities.items():
        fpr, tpr, _ = roc_curve(y, p[:, 1])
        ax.plot(fpr, tpr, label=f"{method} (AUROC {roc_auc_score(y, p[:, 1]):.3f})")
    ax.plot([0, 1], [0, 1], color="lightgray", linestyle="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{name}: ROC (test, seed 0)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bits_bars(task: dict, path: Path) -> Path:
    """Per file: the model's bits per base/residue (with CI) beside gzip-9, bzip2-9 and xz-9e."""
    plt = _plt()
    files = task["files"]
    fig, axes = plt.subplots(1, len(files), figsize=(3.6 * len(files) + 0.5, 3.8), squeeze=False)
    for ax, entry in zip(axes[0], files):
        classic = {k: v for k, v in entry["classic"].items() if k != "2bit" or entry["unit"] == "base"}
        labels = ["bioLM", *classic]
        values = [entry["model"]["value"], *classic.values()]
        cis = [entry["model"]["ci"], *[(v, v) for v in classic.values()]]
        _bars(ax, labels, values, cis, ["tab:blue"] + ["tab:gray"] * len(classic))
        ax.set_title(Path(entry["name"]).name, fontsize=8)
        ax.set_ylabel(f"bits per {entry['unit']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def learning_curve(pretraining: dict | None, path: Path) -> Path | None:
    """The pretraining run's learning curve (drawn by :func:`bioLM.training.curves.plot_learning_curve`)."""
    if not pretraining:
        return None
    from bioLM.training.curves import plot_learning_curve

    made = plot_learning_curve(pretraining["run_dir"])
    if made is None:
        return None
    shutil.copyfile(made, path)
    return path


def gain_forest(gains: list[dict], path: Path) -> Path | None:
    """The pretraining gain (MCC, finetune - scratch) per task and method with its paired 95% CI; a line at 0."""
    if not gains:
        return None
    plt = _plt()
    labels = [f"{g['task']} / {g['method']}" for g in gains]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(gains) + 1.2))
    y = np.arange(len(gains))[::-1]
    values = [np.nan if g["difference"] is None else g["difference"] for g in gains]
    low = [0 if g["ci"][0] is None else v - g["ci"][0] for v, g in zip(values, gains)]
    high = [0 if g["ci"][1] is None else g["ci"][1] - v for v, g in zip(values, gains)]
    ax.errorbar(values, y, xerr=[low, high], fmt="o", color=COLORS["evaluator"], capsize=4)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel("pretraining gain, MCC (fine-tuned pretrained - from scratch), paired 95% CI")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(outcome) -> list[Path]:
    """All plots of a :class:`~bioLM.benchmark.run.BenchmarkResult` under ``out_dir/plots``."""
    folder = outcome.out_dir / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path | None] = []
    for task in outcome.results["tasks"]:
        slug = _slug(task["name"])
        if task["type"] == "compression":
            made.append(bits_bars(task, folder / f"{slug}_bits.png"))
            continue
        made.append(task_bars(task, folder / f"{slug}_metrics.png"))
        if task["name"] in outcome.predictions:
            kept = outcome.predictions[task["name"]]
            made.append(roc_curves(task["name"], kept["y"], kept["probabilities"], folder / f"{slug}_roc.png"))
    made.append(learning_curve(outcome.results["model"]["pretraining"], folder / "learning_curve.png"))
    made.append(gain_forest((outcome.results.get("summary") or {}).get("pretraining_gain", []),
                            folder / "pretraining_gain.png"))
    return [p for p in made if p is not None]
