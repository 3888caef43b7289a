"""bioLM's HF-native GPT: config, model classes, presets, FLOP counting, and the one loader (``loading``).

Importing this package registers bioLM with the transformers Auto classes, in one place
(:func:`register_auto_classes`): ``model_type="biolm"`` with AutoConfig, AutoModel, AutoModelForCausalLM and
AutoModelForSequenceClassification, and the overlapping k-mer tokenizer with AutoTokenizer, so
``AutoModelForCausalLM.from_pretrained(directory)`` and ``AutoTokenizer.from_pretrained(directory)`` work.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from bioLM.model.config import BioLMConfig
from bioLM.model.flops import flops_per_token, measure_matmul_peak
from bioLM.model.modeling import (
    BioLMForCausalLM,
    BioLMForSequenceClassification,
    BioLMModel,
    BioLMPreTrainedModel,
    compile_blocks,
)
from bioLM.model.presets import PRESETS, config_from_preset

__all__ = [
    "PRESETS",
    "BioLMConfig",
    "BioLMForCausalLM",
    "BioLMForSequenceClassification",
    "BioLMModel",
    "BioLMPreTrainedModel",
    "compile_blocks",
    "config_from_preset",
    "flops_per_token",
    "measure_matmul_peak",
    "register_auto_classes",
]


def register_auto_classes() -> None:
    """Register bioLM's model and tokenizer classes with the transformers Auto classes (idempotent)."""
    from bioLM.tokenization.hf import BioLMOverlappingKmerTokenizer, BioLMTokenizerConfig

    AutoTokenizer.register(BioLMTokenizerConfig, tokenizer_class=BioLMOverlappingKmerTokenizer, exist_ok=True)
    AutoConfig.register(BioLMConfig.model_type, BioLMConfig, exist_ok=True)
    AutoModel.register(BioLMConfig, BioLMModel, exist_ok=True)
    AutoModelForCausalLM.register(BioLMConfig, BioLMForCausalLM, exist_ok=True)
    AutoModelForSequenceClassification.register(BioLMConfig, BioLMForSequenceClassification, exist_ok=True)


register_auto_classes()
