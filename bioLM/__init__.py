"""bioLM: GPT language models for DNA and protein sequences.

Entry points: the ``biolm`` command (``bioLM/cli``) and the library functions it calls.
"""

__version__ = "0.1.0"
