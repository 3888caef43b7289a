"""Downstream genetics with a causal or masked LM: zero-shot variant and mutation scoring, generation, fine-tuning.

* :mod:`~bioLM.scoring.likelihood`: batched sequence log-likelihoods under a causal LM.
* :mod:`~bioLM.scoring.masked`: masked marginals, masked-position LLR, pseudo-log-likelihood (masked LMs).
* :mod:`~bioLM.scoring.variants`: ``score_variants`` (VCF + reference -> VCF with BIOLM_LLR per ALT).
* :mod:`~bioLM.scoring.mutations`: ``score_mutations`` (A23V / A23V:G45D against a wild-type protein).
* :mod:`~bioLM.scoring.generate`: ``generate`` (sampling into FASTA, KV cache, seeded).
* :mod:`~bioLM.scoring.tasks` and :mod:`~bioLM.scoring.finetune`: task readers and Lightning fine-tuning;
  :mod:`~bioLM.scoring.lora` (LoRA adapters with PEFT) and :mod:`~bioLM.scoring.finetune_export` (its outputs).

Names are re-exported lazily (``import bioLM.scoring`` stays cheap); the functions named like their module
(``generate.generate``, ``finetune.finetune``) are reached through the module.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LikelihoodOptions": "likelihood", "log_likelihoods": "likelihood",
    "VariantScoringConfig": "variants", "VariantScoringSummary": "variants", "score_variants": "variants",
    "Mutation": "mutations", "MutationScoringConfig": "mutations", "parse_mutations": "mutations",
    "score_mutations": "mutations", "read_wild_type": "mutations",
    "GenerateOptions": "generate", "generate_sequences": "generate",
    "Task": "tasks", "TaskSplit": "tasks", "load_task": "tasks",
    "FinetuneConfig": "finetune", "FinetuneResult": "finetune",
    "add_lora": "lora", "load_adapter": "lora",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"bioLM.scoring.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'bioLM.scoring' has no attribute {name!r}")
