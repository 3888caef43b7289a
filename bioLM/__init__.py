"""bioLM: GPT language models for DNA and protein sequences.

Entry points: the ``biolm`` command (``bioLM/cli``) and the library functions it calls. Importing bioLM
registers its model (``model_type="biolm"``) and its overlapping k-mer tokenizer with the transformers Auto
classes, so ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` load what bioLM saves.
"""

__version__ = "0.1.0"

from bioLM import model as _model  # noqa: E402,F401  (registers the Auto classes)
from bioLM import tokenization as _tokenization  # noqa: E402,F401  (registers the k-mer tokenizer)
