"""LoRA fine-tuning with PEFT: low-rank adapters on the pretrained model's linear layers, a new head.

``biolm finetune --lora`` wraps the sequence classifier (``AutoModelForSequenceClassification`` of the model
directory; for a bioLM export a ``LlamaForSequenceClassification``) with :func:`add_lora` and trains it with the
same Lightning loop as full fine-tuning. Only the adapters and the head train; the output directory is a PEFT
adapter (``adapter_config.json`` + ``adapter_model.safetensors``, the head saved beside the adapters) that
``PeftModel.from_pretrained(base, adapter_dir)`` puts onto the base model, which anyone can load with plain
``transformers`` (:func:`load_adapter` does both and restores the label names).

``peft`` is an optional dependency: ``pip install 'biolm[finetune]'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bioLM.errors import ConfigError, ModelDirectoryError

ALL_LINEAR = "all-linear"
"""PEFT's name for every linear layer of the transformer blocks (not the output head)."""


def require_peft() -> Any:
    """The ``peft`` module, or a ConfigError that says how to install it."""
    try:
        import peft
    except ImportError:
        raise ConfigError("LoRA fine-tuning needs the peft package: pip install 'biolm[finetune]'") from None
    return peft


def add_lora(model, rank: int = 8, alpha: float = 16.0, dropout: float = 0.05,
             target_modules: list[str] | None = None):
    """Wrap a sequence-classification ``model`` with LoRA adapters of ``rank`` (scale ``alpha / rank``) on
    ``target_modules`` (module names such as ``q_proj``; None: all linear layers of the blocks). The base
    weights are frozen; the adapters and the head (``score``/``classifier``) train. Returns a ``PeftModel``."""
    peft = require_peft()
    if rank < 1 or alpha <= 0 or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"LoRA: rank={rank} must be >= 1, alpha={alpha} > 0 and dropout={dropout} in [0, 1)")
    targets = target_modules or ALL_LINEAR
    config = peft.LoraConfig(task_type=peft.TaskType.SEQ_CLS, r=rank, lora_alpha=alpha, lora_dropout=dropout,
                             target_modules=targets)
    try:
        return peft.get_peft_model(model, config)
    except ValueError as error:  # target modules that the model does not have
        names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
        raise ConfigError(f"LoRA target modules {targets!r} do not fit this model ({error}); its linear layers "
                          f"are named {names}") from None


def is_peft_model(model) -> bool:
    """True for a model wrapped by PEFT."""
    return hasattr(model, "peft_config")


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def load_adapter(adapter_dir: str | Path, base_dir: str | Path | None = None):
    """A LoRA fine-tuning output put back onto its base model, in eval mode: ``(model, tokenizer)``.

    ``base_dir`` defaults to the base model path recorded in ``adapter_config.json``; the head's size and
    label names come from ``metrics.json``. Only ``transformers`` and ``peft`` are used to load.
    """
    peft = require_peft()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    adapter_dir = Path(adapter_dir)
    config_path, summary_path = adapter_dir / "adapter_config.json", adapter_dir / "metrics.json"
    if not config_path.is_file() or not summary_path.is_file():
        raise ModelDirectoryError(f"{adapter_dir}: not a bioLM LoRA output (needs adapter_config.json and "
                                  "metrics.json, written by `biolm finetune --lora`)")
    base = Path(base_dir or json.loads(config_path.read_text())["base_model_name_or_path"])
    summary = json.loads(summary_path.read_text())
    kwargs = head_kwargs(summary["kind"], summary.get("labels") or [])
    model = AutoModelForSequenceClassification.from_pretrained(base, trust_remote_code=False, **kwargs)
    model = peft.PeftModel.from_pretrained(model, adapter_dir).eval()
    return model, AutoTokenizer.from_pretrained(str(adapter_dir))


def head_kwargs(kind: str, label_names: list[str]) -> dict[str, Any]:
    """``from_pretrained`` keywords of a task head: size, label names, problem type."""
    names = list(label_names) if kind == "classification" else ["y"]
    id2label = dict(enumerate(names))
    return {"num_labels": len(names), "id2label": id2label, "label2id": {v: k for k, v in id2label.items()},
            "problem_type": "regression" if kind == "regression" else "single_label_classification"}
