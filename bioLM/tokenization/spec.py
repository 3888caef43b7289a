"""What a bioLM tokenizer is (:class:`TokenizerSpec`) and where that identity is read from: the ``"biolm"``
init kwarg of ``tokenizer_config.json``, or ``biolm.json`` beside an exported model's tokenizer files.

Below :mod:`bioLM.tokenization.encode` and :mod:`bioLM.tokenization.hf`, so neither needs the factory
(:mod:`bioLM.tokenization.api`) that builds their tokenizers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from transformers import PreTrainedTokenizerFast

from bioLM.errors import ConfigError, ModelDirectoryError

SPEC_FILE = "biolm.json"
"""Side file of an exported model: the tokenizer identity (``"tokenizer"``) and other bioLM facts."""
Kind = Literal["char", "kmer", "bpe"]
KINDS = ("char", "kmer", "bpe")


@dataclass(frozen=True)
class TokenizerSpec:
    """What a tokenizer is. ``k``/``stride``: 1/1 for char, the k-mer size and step for kmer, None for BPE."""

    kind: Kind
    alphabet: str
    k: int | None
    stride: int | None
    chunk_size: int | None = None

    @property
    def overlapping(self) -> bool:
        """True for k-mers read with a stride smaller than k."""
        return self.kind == "kmer" and self.stride is not None and self.k is not None and self.stride < self.k


def _side_file_info(directory: str | Path) -> dict | None:
    path = Path(directory) / SPEC_FILE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text()).get("tokenizer")
    except (json.JSONDecodeError, AttributeError) as error:
        raise ModelDirectoryError(f"{path}: not a valid bioLM side file ({error})") from None
    return info if isinstance(info, dict) and "kind" in info else None


def tokenizer_spec(tokenizer: PreTrainedTokenizerFast) -> TokenizerSpec:
    """Kind, alphabet, k, stride of a bioLM tokenizer (its ``"biolm"`` init kwarg, else the ``biolm.json``
    beside the directory it was loaded from)."""
    info = _info(tokenizer)
    return TokenizerSpec(info["kind"], info["alphabet"], info.get("k"), info.get("stride"), info.get("chunk_size"))


def is_biolm_tokenizer(tokenizer) -> bool:
    """True when ``tokenizer`` carries a bioLM identity (its init kwarg, or ``biolm.json`` beside its directory)."""
    try:
        _info(tokenizer)
    except ConfigError:
        return False
    return True


def _info(tokenizer: PreTrainedTokenizerFast) -> dict:
    info = getattr(tokenizer, "init_kwargs", {}).get("biolm")
    if not info:
        source = getattr(tokenizer, "name_or_path", "")
        info = _side_file_info(source) if source and Path(source).is_dir() else None
    if not info:
        raise ConfigError(f"{getattr(tokenizer, 'name_or_path', tokenizer)!s} is not a bioLM tokenizer (neither "
                          "its tokenizer_config.json nor a biolm.json beside it has a bioLM tokenizer entry); "
                          "build one with build_tokenizer()")
    return info
