"""Fast ids path for long sequences: numpy lookup tables for char and k-mer, the Rust batch path for BPE.

Ids equal those of ``tokenizer(sequence, add_special_tokens=False)["input_ids"]`` for every kind (tested), at
genome speed and without Python loops over bases. Offsets are 0-based half-open base coordinates of the input.
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from bioLM.tokenization.kmer import base_codes, encode_nonoverlapping, encode_overlapping
from bioLM.tokenization.spec import TokenizerSpec, tokenizer_spec
from bioLM.tokenization.special import UNK_ID

_BPE_BATCH = 256  # pieces per encode_batch call


@dataclass(frozen=True)
class _Tables:
    spec: TokenizerSpec
    char: np.ndarray  # (256,) int32: byte -> single-letter token id (unk when none)
    n_kmer: int  # id of the all-N k-mer (kmer kinds), else -1
    char_bytes: bytes  # ``char`` as a ``bytes.translate`` table (per-residue vocabularies are < 256)
    bpe: Tokenizer | None  # BPE: a copy of the backend without normalizer (normalization is done on bytes)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tables(tokenizer: PreTrainedTokenizerFast) -> _Tables:
    try:
        return _CACHE[tokenizer]
    except (KeyError, TypeError):
        pass
    spec = tokenizer_spec(tokenizer)
    vocab = tokenizer.get_vocab()
    char = np.full(256, UNK_ID, dtype=np.int32)
    for token, index in vocab.items():
        if len(token) == 1 and token.isascii():
            char[ord(token)] = index
            char[ord(token.lower())] = index
    if spec.alphabet == "dna" and "T" in vocab:
        char[ord("U")] = char[ord("u")] = vocab["T"]
    n_kmer = vocab.get("N" * spec.k, -1) if spec.kind == "kmer" else -1
    bpe = None
    if spec.kind == "bpe":
        bpe = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        bpe.normalizer = None
    char_bytes = char.astype(np.uint8).tobytes() if char.max() < 256 else b""
    tables = _Tables(spec, char, n_kmer, char_bytes, bpe)
    with contextlib.suppress(TypeError):
        _CACHE[tokenizer] = tables
    return tables


def encode_sequence(tokenizer: PreTrainedTokenizerFast, sequence: str) -> np.ndarray:
    """Token ids (int32, shape ``(n_tokens,)``) of one long sequence, without special tokens."""
    return _encode(tokenizer, sequence, offsets=False)[0]


def _encode(tokenizer: PreTrainedTokenizerFast, sequence: str,
            offsets: bool) -> tuple[np.ndarray, np.ndarray | None]:
    tables = _tables(tokenizer)
    spec = tables.spec
    encoded = sequence.encode("ascii", errors="replace")
    if spec.kind == "bpe":
        return _encode_bpe(tables.bpe, _normalize_bytes(encoded, spec.alphabet), spec.chunk_size, offsets)
    raw = np.frombuffer(encoded, dtype=np.uint8)
    if spec.kind == "char":
        ids = np.frombuffer(encoded.translate(tables.char_bytes), dtype=np.uint8).astype(np.int32)
        return ids, (np.stack([np.arange(len(raw)), np.arange(1, len(raw) + 1)], axis=1) if offsets else None)
    codes, clean = base_codes(encoded)
    if spec.stride == spec.k:
        return encode_nonoverlapping(raw, codes, clean, spec.k, tables.char, offsets)
    return encode_overlapping(raw, codes, clean, spec.k, spec.stride, tables.char, tables.n_kmer, offsets)


def _normalize_bytes(encoded: bytes, alphabet: str) -> str:
    """The tokenizer's normalizer, on ASCII bytes (1:1, so offsets are unchanged): upper-case; DNA U -> T."""
    upper = encoded.upper()
    return (upper.replace(b"U", b"T") if alphabet == "dna" else upper).decode("ascii")


def _encode_bpe(backend: Tokenizer, sequence: str, chunk: int,
                offsets: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Slice into the tokenizer's own pieces (see :mod:`bioLM.tokenization.bpe`) and encode them in batches."""
    step = chunk * _BPE_BATCH
    id_parts, off_parts = [], []
    for base in range(0, len(sequence), step):
        pieces = [sequence[i:i + chunk] for i in range(base, min(base + step, len(sequence)), chunk)]
        if not offsets:
            encodings = backend.encode_batch_fast(pieces, add_special_tokens=False)
            id_parts.append(np.fromiter((i for e in encodings for i in e.ids), dtype=np.int32))
            continue
        encodings = backend.encode_batch(pieces, add_special_tokens=False)
        for number, encoding in enumerate(encodings):
            id_parts.append(np.asarray(encoding.ids, dtype=np.int32))
            off_parts.append(np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2) + base + number * chunk)
    ids = np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.int32)
    if not offsets:
        return ids, None
    return ids, (np.concatenate(off_parts) if off_parts else np.zeros((0, 2), dtype=np.int64))
