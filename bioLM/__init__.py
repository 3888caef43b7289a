"""bioLM: GPT language models for DNA and protein sequences.

Entry points: the ``biolm`` command (``bioLM/cli``) and the library functions it calls. Importing bioLM
registers its model (``model_type="biolm"``) and its overlapping k-mer tokenizer with the transformers Auto
classes, so ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` load what bioLM saves.

The registration waits for ``transformers`` itself: if it is already imported it happens now, otherwise the
moment it is imported. So ``import bioLM.io`` (FASTA reading, ``biolm info``) stays light (no torch,
~40 MB instead of ~400 MB) while every path that can reach an Auto class finds bioLM's classes registered.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"


def _register_auto_classes() -> None:
    """Import ``bioLM.model``, whose import registers bioLM with the Auto classes (``register_auto_classes``)."""
    importlib.import_module("bioLM.model")


class _RegisterAfterTransformers(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path hook: lets ``transformers`` import normally, then runs :func:`_register_auto_classes`."""

    def find_spec(self, name, path, target=None):
        if name != "transformers":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding this hook
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _register_auto_classes()


if "transformers" in sys.modules:
    _register_auto_classes()
elif not any(isinstance(finder, _RegisterAfterTransformers) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterTransformers())
