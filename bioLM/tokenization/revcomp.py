"""Reverse complement of DNA strings and of token ids of DNA char and k-mer tokenizers.

On ids, each token is replaced by the token of its reverse complement and the order is reversed; special
tokens stay as they are. For char and non-overlapping k-mer tokenizers the result decodes to the reverse
complement of the decoded input (it is a valid tokenization of it, though not always the one ``encode`` would
pick, e.g. when the k-mer frame differs). For overlapping k-mers with stride 1 and no tail it equals
``encode(reverse_complement(s))``. BPE is not defined (the complement of a merge need not be a token):
reverse-complement the string and encode it again.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np
from transformers import PreTrainedTokenizerFast

from bioLM.alphabet import reverse_complement
from bioLM.errors import ConfigError
from bioLM.tokenization.spec import tokenizer_spec
from bioLM.tokenization.special import N_SPECIAL

__all__ = ["reverse_complement", "reverse_complement_ids", "complement_table"]

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def complement_table(tokenizer: PreTrainedTokenizerFast) -> np.ndarray:
    """int32 array ``(len(tokenizer),)``: id -> id of the reverse-complement token (specials map to themselves)."""
    try:
        return _CACHE[tokenizer]
    except (KeyError, TypeError):
        pass
    spec = tokenizer_spec(tokenizer)
    if spec.alphabet != "dna" or spec.kind == "bpe":
        raise ConfigError(f"reverse complement on token ids is defined for DNA char and k-mer tokenizers, not "
                          f"kind={spec.kind!r} alphabet={spec.alphabet!r}; reverse-complement the sequence "
                          "with reverse_complement() and encode it again")
    vocab = tokenizer.get_vocab()
    table = np.arange(len(tokenizer), dtype=np.int32)
    for token, index in vocab.items():
        if index >= N_SPECIAL:
            table[index] = vocab[reverse_complement(token)]
    with contextlib.suppress(TypeError):
        _CACHE[tokenizer] = table
    return table


def reverse_complement_ids(tokenizer: PreTrainedTokenizerFast, ids: np.ndarray | list[int]) -> np.ndarray:
    """Ids of the reverse complement (int32, same length as ``ids``): complement each token, reverse order."""
    return complement_table(tokenizer)[np.asarray(ids, dtype=np.int64)][::-1].copy()
