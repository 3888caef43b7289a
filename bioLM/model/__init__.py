"""bioLM's HF-native GPT: config, model classes, presets and FLOP counting.

Importing this package registers ``model_type="biolm"`` with AutoConfig, AutoModel, AutoModelForCausalLM and
AutoModelForSequenceClassification, so ``AutoModelForCausalLM.from_pretrained(directory)`` works.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
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
]


def _register() -> None:
    """Register the bioLM classes with the transformers Auto classes (idempotent)."""
    AutoConfig.register(BioLMConfig.model_type, BioLMConfig, exist_ok=True)
    AutoModel.register(BioLMConfig, BioLMModel, exist_ok=True)
    AutoModelForCausalLM.register(BioLMConfig, BioLMForCausalLM, exist_ok=True)
    AutoModelForSequenceClassification.register(BioLMConfig, BioLMForSequenceClassification, exist_ok=True)


_register()
