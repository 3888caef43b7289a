"""`import bioLM` registers the Auto classes however transformers is reached, without importing torch early."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_io_import_is_light():
    out = run_python("import sys, bioLM.io, bioLM.alphabet\nprint('torch' in sys.modules, 'transformers' in sys.modules)")
    assert out == "False False"


@pytest.mark.parametrize("order", [
    "import bioLM\nimport transformers",          # transformers imported after bioLM: the hook registers
    "import transformers\nimport bioLM",          # transformers first: registration at import
    "import bioLM.tokenization",                  # a subpackage that itself imports transformers
    "import bioLM.model",
])
def test_auto_classes_registered_in_any_import_order(order):
    code = order + """
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.models.auto.tokenization_auto import tokenizer_class_from_name
config = AutoConfig.for_model("biolm", n_layer=1, n_head=2, n_embd=16, vocab_size=64)
print(type(AutoModelForCausalLM.from_config(config)).__name__, tokenizer_class_from_name("BioLMOverlappingKmerTokenizer") is not None)
"""
    assert run_python(code) == "BioLMForCausalLM True"
