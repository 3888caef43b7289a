"""What fine-tuning writes: the model (or LoRA adapter), a portable tokenizer, ``biolm.json``, ``metrics.json``,
the per-epoch ``history.tsv``, ``learning_curve.png`` and a ``README.md`` model card.

Layout of ``out_dir``: a full fine-tune is a standard ``AutoModelForSequenceClassification`` directory
(``config.json`` with the task's label names in ``id2label``); a LoRA fine-tune is a PEFT adapter directory
(see :mod:`bioLM.finetuning.lora`). Both keep the tokenizer loadable by plain ``AutoTokenizer`` and the bioLM
tokenizer identity in ``biolm.json``; the CSV metric logs of the run are in ``logs/metrics.csv``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bioLM.model.card import finetuned_card
from bioLM.tokenization import save_portable_tokenizer, write_side_file

logger = logging.getLogger(__name__)


def write_outputs(model, tokenizer, out_dir: Path, summary: dict[str, Any], history: list[dict[str, float]],
                  base_model: str | Path, alphabet: str | None) -> None:
    """Write everything a fine-tuning run leaves behind into ``out_dir`` (see the module docstring)."""
    from bioLM.finetuning.lora import is_peft_model

    out_dir.mkdir(parents=True, exist_ok=True)
    adapter = is_peft_model(model)
    model.save_pretrained(out_dir)
    info = save_portable_tokenizer(tokenizer, out_dir)
    base = model.get_base_model() if adapter else model
    architecture = type(base).__name__
    write_side_file(out_dir, format_version=1, tokenizer=info,
                    finetune={"task": summary.get("task"), "kind": summary.get("kind"),
                              "labels": summary.get("labels"), "base_model": str(base_model),
                              "adapter": adapter, "architecture": architecture})
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2, default=str, allow_nan=False) + "\n")
    write_history(out_dir / "history.tsv", history)
    plot_history(out_dir / "learning_curve.png", history)
    (out_dir / "README.md").write_text(finetuned_card(summary, str(base_model), architecture, alphabet, adapter))


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    """One row per epoch: ``epoch``, ``train_loss``, ``val_loss`` and the validation metrics."""
    columns = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k != "train_loss", k))
    lines = ["\t".join(columns)] + ["\t".join(repr(row.get(c, "")) if c in row else "" for c in columns)
                                    for row in history]
    path.write_text("\n".join(lines) + "\n")


def plot_history(path: Path, history: list[dict[str, float]]) -> Path | None:
    """Train and validation loss per epoch as ``path`` (PNG); None when no epoch finished."""
    rows = [r for r in history if "val_loss" in r]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [r["epoch"] + 1 for r in rows]
    if all("train_loss" in r for r in rows):
        ax.plot(epochs, [r["train_loss"] for r in rows], marker="o", label="train")
    ax.plot(epochs, [r["val_loss"] for r in rows], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
