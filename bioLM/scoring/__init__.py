"""Zero-shot scoring with a causal or masked LM: sequence log-likelihoods, variants, mutations, consequences.

* :mod:`~bioLM.scoring.likelihood`: batched sequence log-likelihoods under a causal LM.
* :mod:`~bioLM.scoring.masked`: masked marginals, masked-position LLR, pseudo-log-likelihood (masked LMs).
* :mod:`~bioLM.scoring.variants`: ``score_variants`` (VCF + reference -> VCF with BIOLM_LLR per ALT).
* :mod:`~bioLM.scoring.mutations`: ``score_mutations`` (A23V / A23V:G45D against a wild-type protein).
* :mod:`~bioLM.scoring.consequence`: coding consequences of variants (Biopython translation).

Generation is :mod:`bioLM.generation`; fine-tuning (tasks, Lightning, LoRA) is :mod:`bioLM.finetuning`.

Names are re-exported lazily (``import bioLM.scoring`` stays cheap).
"""

from __future__ import annotations

from bioLM.lazy import lazy_exports

_EXPORTS = {
    "LikelihoodOptions": "likelihood", "log_likelihoods": "likelihood",
    "VariantScoringConfig": "variants", "VariantScoringSummary": "variants", "score_variants": "variants",
    "Mutation": "mutations", "MutationScoringConfig": "mutations", "parse_mutations": "mutations",
    "score_mutations": "mutations", "read_wild_type": "mutations",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
