"""Fine-tuning a pretrained (or any Hugging Face) model on a labelled sequence task, beside pretraining.

* :mod:`~bioLM.finetuning.tasks`: task readers (GUE CSV, FASTA per class, SCL2205) into ``Task`` splits.
* :mod:`~bioLM.finetuning.finetune`: ``finetune`` (Lightning; early stopping and model selection on the
  validation split, LR schedule, optional reverse-complement averaging, from scratch for the baseline).
* :mod:`~bioLM.finetuning.lora`: LoRA adapters with PEFT; :mod:`~bioLM.finetuning.outputs`: what a run writes.

Names are re-exported lazily (``import bioLM.finetuning`` stays cheap); ``finetune.finetune`` is reached
through its module.
"""

from __future__ import annotations

from bioLM.lazy import lazy_exports

_EXPORTS = {
    "Task": "tasks", "TaskSplit": "tasks", "load_task": "tasks",
    "FinetuneConfig": "finetune", "FinetuneResult": "finetune",
    "add_lora": "lora", "load_adapter": "lora",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
