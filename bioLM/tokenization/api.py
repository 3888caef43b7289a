"""Factory and introspection: build, save/load, and describe bioLM tokenizers (the package contract).

The tokenizer's identity lives in ``tokenizer_config.json`` under the ``"biolm"`` key (an init kwarg that
transformers saves and restores): ``kind``, ``alphabet``, ``k``, ``stride``, ``chunk_size`` (BPE),
``vocab_size`` (real) and ``padded_vocab_size`` (multiple of 64, for the model's embedding matrix).

Exported models (``biolm export``) keep their tokenizer files standard, so plain ``AutoTokenizer`` loads them
as a ``PreTrainedTokenizerFast`` without bioLM, and put that identity in a side file, ``biolm.json`` (key
``"tokenizer"``) beside them: :func:`load_tokenizer` and :func:`tokenizer_spec` read either place.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from bioLM.errors import ConfigError, ModelDirectoryError
from bioLM.tokenization.bpe import DEFAULT_CHUNK, train_bpe
from bioLM.tokenization.char import char_backend
from bioLM.tokenization.hf import BioLMOverlappingKmerTokenizer
from bioLM.tokenization.kmer import MAX_K, kmer_backend
from bioLM.tokenization.spec import (
    KINDS,
    SPEC_FILE,
    Kind,
    TokenizerSpec,
    _side_file_info,
    tokenizer_spec,
)
from bioLM.tokenization.special import HF_SPECIAL_KWARGS, N_SPECIAL, letters_of


def build_tokenizer(kind: Kind, alphabet: str = "dna", k: int = 6, stride: int | None = None,
                    vocab_size: int = 4096, sequences: Iterable[str] | None = None,
                    files: Iterable[str | Path] | None = None,
                    chunk_size: int = DEFAULT_CHUNK) -> PreTrainedTokenizerFast:
    """Build a tokenizer of ``kind``. ``k``/``stride`` apply to kmer (``stride=None`` means k: non-overlapping);
    ``vocab_size``/``sequences``/``files``/``chunk_size`` to BPE (trained here). Overlapping k-mers warn: they
    leak the target in causal or masked pretraining (see :mod:`bioLM.tokenization.kmer`)."""
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is not a tokenizer kind; valid: {list(KINDS)}")
    alphabet = "dna" if alphabet == "rna" else alphabet
    letters_of(alphabet)  # validates the alphabet
    if kind == "char":
        spec, backend, cls = TokenizerSpec("char", alphabet, 1, 1), char_backend(alphabet), PreTrainedTokenizerFast
    elif kind == "kmer":
        spec = _kmer_spec(alphabet, k, stride)
        backend = kmer_backend(spec.k, spec.stride)
        cls = BioLMOverlappingKmerTokenizer if spec.overlapping else PreTrainedTokenizerFast
    else:
        backend = train_bpe(vocab_size, alphabet, sequences=sequences, files=files, chunk_size=chunk_size)
        spec, cls = TokenizerSpec("bpe", alphabet, None, None, chunk_size), PreTrainedTokenizerFast
    size = backend.get_vocab_size()
    info = {**asdict(spec), "vocab_size": size, "padded_vocab_size": _round_up(size, 64)}
    return cls(tokenizer_object=backend, biolm=info, model_max_length=10**9, **HF_SPECIAL_KWARGS)


def _kmer_spec(alphabet: str, k: int, stride: int | None) -> TokenizerSpec:
    if alphabet != "dna":
        raise ConfigError(f"k-mer tokenizers are for DNA; got alphabet={alphabet!r} (use kind='char' or 'bpe')")
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"k={k} is out of range; k-mer tokenizers support k = 1..{MAX_K}")
    stride = k if stride is None else stride
    if not 1 <= stride <= k:
        raise ConfigError(f"stride={stride} must be between 1 and k={k} (stride=k is non-overlapping)")
    if stride < k:
        warnings.warn(f"overlapping k-mers (k={k}, stride={stride}) leak the answer to masked and next-token "
                      "objectives; use them for embedding/probing only and pretrain with stride=k",
                      UserWarning, stacklevel=3)
    return TokenizerSpec("kmer", alphabet, k, stride)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer directory saved by ``save_pretrained`` (``tokenizer.json`` + ``tokenizer_config.json``).

    In an exported model directory the bioLM identity comes from ``biolm.json``; an overlapping k-mer
    tokenizer is then loaded as :class:`BioLMOverlappingKmerTokenizer` (plain transformers reads it as
    space-separated k-mers)."""
    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise ModelDirectoryError(f"{path}: no tokenizer.json here; build one with "
                                  "`biolm tokenizer train --kind ... --out DIR` or point at a model directory")
    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    if tokenizer.init_kwargs.get("biolm"):
        return tokenizer
    info = _side_file_info(path)
    if info is None:
        return tokenizer  # a foreign tokenizer: no bioLM identity
    spec = TokenizerSpec(info["kind"], info["alphabet"], info.get("k"), info.get("stride"))
    if spec.overlapping and not isinstance(tokenizer, BioLMOverlappingKmerTokenizer):
        tokenizer = BioLMOverlappingKmerTokenizer.from_pretrained(str(path), trust_remote_code=False)
    tokenizer.init_kwargs["biolm"] = info
    return tokenizer


def save_portable_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: str | Path) -> dict | None:
    """Save ``tokenizer`` so that plain ``AutoTokenizer.from_pretrained(out_dir)`` loads it as a
    ``PreTrainedTokenizerFast`` (no bioLM class, no bioLM key). Returns its bioLM identity plus
    ``bases_per_token`` (``None`` for a foreign tokenizer) for the caller to write into ``biolm.json`` under
    ``"tokenizer"`` (see :func:`write_side_file`)."""
    info = getattr(tokenizer, "init_kwargs", {}).get("biolm")
    tokenizer.save_pretrained(str(out_dir))
    portable_tokenizer_config(out_dir)
    if not info:
        return None
    bases = bases_per_token(tokenizer)
    return {**info, "bases_per_token": [int(b) if b == int(b) else float(b) for b in bases]}


def portable_tokenizer_config(directory: str | Path) -> dict | None:
    """Rewrite ``<directory>/tokenizer_config.json`` in place without the bioLM parts: drop the ``"biolm"``
    key and name the standard class ``PreTrainedTokenizerFast``. Returns the dropped identity (or None)."""
    path = Path(directory) / "tokenizer_config.json"
    config = json.loads(path.read_text())
    info = config.pop("biolm", None)
    if info is not None or config.get("tokenizer_class") == BioLMOverlappingKmerTokenizer.__name__:
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return info


def write_side_file(directory: str | Path, **sections) -> Path:
    """Merge ``sections`` (plain JSON values) into ``<directory>/biolm.json``; returns its path."""
    path = Path(directory) / SPEC_FILE
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(sections)
    text = json.dumps(data, indent=1, default=str)
    text = re.sub(r"\[[-\d\s,.e]*\]", lambda m: "[" + " ".join(m.group(0)[1:-1].split()) + "]", text)  # one line
    path.write_text(text + "\n")
    return path


def padded_vocab_size(tokenizer: PreTrainedTokenizerFast, multiple: int = 64) -> int:
    """``len(tokenizer)`` rounded up to a multiple of ``multiple`` (the model's embedding rows)."""
    if multiple < 1:
        raise ConfigError(f"multiple={multiple} must be a positive integer")
    return _round_up(len(tokenizer), multiple)


def bases_per_token(tokenizer: PreTrainedTokenizerFast) -> np.ndarray:
    """Float array ``(len(tokenizer),)``: new bases (residues) each token adds; 0 for special tokens.

    The letter count of the token, except overlapping k-mer windows, which add ``stride`` new bases each.
    """
    spec = tokenizer_spec(tokenizer)
    out = np.zeros(len(tokenizer), dtype=np.float64)
    for token, index in tokenizer.get_vocab().items():
        if index >= N_SPECIAL:
            out[index] = len(token)
    if spec.overlapping:
        out[(out == spec.k) & (np.arange(len(out)) >= N_SPECIAL)] = spec.stride
    return out
