"""k-mer tokenizers for DNA (k = 1..8): non-overlapping (stride k) and overlapping (stride < k).

Vocabulary (ids): specials 0-4; the ``4**k`` k-mers over ``ACGT`` in lexicographic order from id 5 (so the
id of a k-mer is ``5 + its base-4 value`` with A=0, C=1, G=2, T=3); the all-``N`` k-mer ``"N"*k`` (the token of
an overlapping window that holds any non-ACGT letter); then the single letters ``A C G T N R Y S W K M B D H V -``
(single ``ACGT`` only when k > 1, since for k = 1 they are the k-mers).

Non-overlapping (``stride == k``; standard ``tokenizers`` components: a ``Split`` pre-tokenizer on the regex
``[ACGT]{k}|.``): a maximal run of ``ACGT`` of length L gives ``L // k`` k-mers followed by ``L % k`` single-
letter tokens (the tail); every other letter (N, IUPAC codes, gap) is its own single-letter token, and the k-mer
frame restarts after it. Nothing is dropped or guessed, so ``decode(encode(s)) == s`` for every DNA string, and a
k-mer with N never silently becomes a random k-mer. Example, k=3: ``ACGTANNACG`` -> ``ACG T A N N ACG``.

Overlapping (``stride < k``, e.g. DNABERT's stride 1): windows ``s[i:i+k]`` for ``i = 0, stride, 2*stride, ...``
while ``i + k <= len(s)``; a window with any non-ACGT letter is the ``"N"*k`` token; the bases after the end of
the last window (fewer than ``stride``, or the whole sequence when it is shorter than k) are single-letter tokens.
Standard ``tokenizers`` components cannot emit overlapping pieces, so this kind is the registered subclass
:class:`bioLM.tokenization.hf.BioLMOverlappingKmerTokenizer`, which computes ids with the numpy path below; its
``tokenizer.json`` backend reads DNABERT-style space-separated k-mers.

The leakage trap, and bioLM's policy: with overlapping k-mers, neighbouring tokens share k-1 bases, so a masked
token can be read off its neighbours and a next token is known up to its last base from the current one: masked-
and next-token objectives become trivial and the loss is not bits of new information. bioLM therefore pretrains
causal models on non-overlapping k-mers (the default, ``stride=None`` means ``stride=k``) and uses overlapping
k-mers only for embedding and probing; :func:`bioLM.tokenization.build_tokenizer` warns when asked for one.

The numpy functions here are the fast ids path used by :func:`bioLM.tokenization.encode_sequence`: bytes map
through 256-entry tables to base codes (A=0, C=1, G=2, T/U=3, other=4), and k-mer ids are rolled in base 4.
"""

from __future__ import annotations

import itertools

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

from bioLM.tokenization.special import DNA_LETTERS, N_SPECIAL, SPECIAL_TOKENS, UNK, normalizer, post_processor

MAX_K = 8
_BLOCK = 1 << 24  # bases per block of the general (ambiguity-aware) non-overlapping path


def kmer_vocab(k: int) -> dict[str, int]:
    """Token -> id of the k-mer tokenizer (same vocabulary for both strides)."""
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    tokens = SPECIAL_TOKENS + kmers + ["N" * k] + list(DNA_LETTERS)
    vocab: dict[str, int] = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return vocab


def kmer_backend(k: int, stride: int) -> Tokenizer:
    """The ``tokenizers`` pipeline; for ``stride < k`` it reads space-separated k-mers (see module docstring)."""
    tokenizer = Tokenizer(models.WordLevel(kmer_vocab(k), unk_token=UNK))
    tokenizer.normalizer = normalizer("dna")
    if stride == k:
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(f"[ACGT]{{{k}}}|[\\s\\S]"), behavior="isolated")
        tokenizer.decoder = decoders.Fuse()
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.post_processor = post_processor()
    return tokenizer


def base_code_table() -> np.ndarray:
    """256-entry uint8 table: byte -> 0..3 for A C G T (either case, U read as T), 4 for anything else."""
    table = np.full(256, 4, dtype=np.uint8)
    for code, letters in enumerate(("Aa", "Cc", "Gg", "TtUu")):
        for letter in letters:
            table[ord(letter)] = code
    return table


CODE_BYTES = base_code_table().tobytes()  # for ``bytes.translate``, about 2x faster than numpy fancy indexing


def base_codes(encoded: bytes) -> tuple[np.ndarray, bool]:
    """Base codes (uint8, 0..3, 4 = other) of an ASCII byte string, and whether all letters are ACGT/U."""
    codes = encoded.translate(CODE_BYTES)
    return np.frombuffer(codes, dtype=np.uint8), codes.find(4) < 0


def _kmer_values(codes: np.ndarray, starts_or_step: np.ndarray | int, count: int, k: int) -> np.ndarray:
    """Base-4 values (uint32, shape ``(count,)``) of the k-mers of ``codes`` (values 0..3) at the given starts.

    ``starts_or_step`` is an int step (k-mers at ``0, step, 2*step, ...``) or an array of start positions.
    """
    dtype = np.uint16 if k <= 8 else np.uint32
    values = np.zeros(count, dtype=dtype)
    for j in range(k):
        if isinstance(starts_or_step, int):
            part = codes[j: j + (count - 1) * starts_or_step + 1: starts_or_step] if count else codes[:0]
        else:
            part = codes[starts_or_step + j]
        values <<= 2
        values += part
    return values


def _window_values(codes: np.ndarray, k: int) -> np.ndarray:
    """Base-4 values (uint16) of every window ``codes[i:i+k]`` (stride 1), by doubling: windows of 1, 2, 4, 8
    letters are built from halves, and k is assembled from its binary digits (about 2*log2(k) passes, not 2*k)."""
    powers = {1: codes.astype(np.uint16)}
    size = 1
    while size * 2 <= k:
        half = powers[size]
        powers[size * 2] = (half[:-size] << (2 * size)) | half[size:]
        size *= 2
    count = len(codes) - k + 1
    values, length = powers[size][:count], size
    for bit in (8, 4, 2, 1):
        if bit < size and k - length >= bit:
            values = (values << (2 * bit)) | powers[bit][length:length + count]
            length += bit
    return values


def encode_nonoverlapping(raw: np.ndarray, codes: np.ndarray, clean: bool, k: int, char_table: np.ndarray,
                          offsets: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Ids (int32, ``(n_tokens,)``) of the byte array ``raw`` (base ``codes`` from :func:`base_codes`, ``clean``
    when all are ACGT) with stride k, and optionally offsets (int64, ``(n_tokens, 2)``, 0-based half-open)."""
    if clean:
        return _nonoverlapping_clean(raw, codes, k, char_table, offsets)
    ids_parts, off_parts = [], []
    for lo, hi in _blocks(codes):
        ids, offs = _nonoverlapping_general(raw[lo:hi], codes[lo:hi], k, char_table, offsets)
        ids_parts.append(ids)
        if offsets:
            off_parts.append(offs + lo)
    ids = np.concatenate(ids_parts)
    return ids, (np.concatenate(off_parts) if offsets else None)


def _blocks(codes: np.ndarray) -> list[tuple[int, int]]:
    """Cut points at non-ACGT letters (where the k-mer frame restarts anyway), about ``_BLOCK`` bases apart."""
    n = len(codes)
    if n <= _BLOCK:
        return [(0, n)]
    invalid = np.flatnonzero(codes >= 4)
    wanted = np.arange(_BLOCK, n, _BLOCK)
    at = np.searchsorted(invalid, wanted)
    cuts = np.unique(invalid[at[at < len(invalid)]])
    edges = [0, *cuts.tolist(), n]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _nonoverlapping_clean(raw, codes, k, char_table, offsets):
    n = len(codes)
    m = n // k
    ids = np.empty(m + n - m * k, dtype=np.int32)
    np.add(_kmer_values(codes, k, m, k), N_SPECIAL, out=ids[:m], casting="unsafe")
    ids[m:] = char_table[raw[m * k:]]
    if not offsets:
        return ids, None
    starts = np.concatenate([np.arange(m, dtype=np.int64) * k, np.arange(m * k, n, dtype=np.int64)])
    ends = starts + np.where(np.arange(len(ids)) < m, k, 1)
    return ids, np.stack([starts, ends], axis=1)


def _nonoverlapping_general(raw, codes, k, char_table, offsets):
    n = len(codes)
    valid = codes < 4
    is_start = valid.copy()
    is_start[1:] &= ~valid[:-1]
    is_end = valid.copy()
    is_end[:-1] &= ~valid[1:]
    run_starts = np.flatnonzero(is_start)
    run_ends = np.flatnonzero(is_end) + 1
    full_ends = run_starts + (run_ends - run_starts) // k * k
    run = np.cumsum(is_start) - 1  # run index of each position (meaningful where valid)
    run[run < 0] = 0
    position = np.arange(n)
    if len(run_starts):
        offset = position - run_starts[run]
        in_full = valid & (position < full_ends[run])
    else:
        offset = position
        in_full = np.zeros(n, dtype=bool)
    kmer_start = in_full & (offset % k == 0)
    token_start = kmer_start | ~in_full
    starts = np.flatnonzero(token_start)
    is_kmer = kmer_start[starts]
    ids = char_table[raw[starts]].astype(np.int32)
    kmer_pos = starts[is_kmer]
    ids[is_kmer] = _kmer_values(codes, kmer_pos, len(kmer_pos), k).astype(np.int32) + N_SPECIAL
    if not offsets:
        return ids, None
    ends = starts + np.where(is_kmer, k, 1)
    return ids, np.stack([starts, ends], axis=1).astype(np.int64)


def encode_overlapping(raw: np.ndarray, codes: np.ndarray, clean: bool, k: int, stride: int,
                       char_table: np.ndarray, n_kmer_id: int,
                       offsets: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Ids (int32) of the windows ``raw[i:i+k]``, ``i = 0, stride, ...``, then single-letter tail tokens;
    optional offsets (int64, ``(n_tokens, 2)``). ``codes``/``clean`` as in :func:`encode_nonoverlapping`."""
    n = len(raw)
    m = (n - k) // stride + 1 if n >= k else 0
    covered = (m - 1) * stride + k if m else 0
    ids = np.empty(m + n - covered, dtype=np.int32)
    if not clean:
        bad = codes >= 4
        counts = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
        window_starts = np.arange(m, dtype=np.int64) * stride
        has_bad = counts[window_starts + k] > counts[window_starts]
        codes = codes & 3
    else:
        has_bad = None
    values = _window_values(codes, k) if stride == 1 and m else _kmer_values(codes, stride, m, k)
    np.add(values, N_SPECIAL, out=ids[:m], casting="unsafe")
    if has_bad is not None:
        ids[:m][has_bad] = n_kmer_id
    ids[m:] = char_table[raw[covered:]]
    if not offsets:
        return ids, None
    starts = np.concatenate([np.arange(m, dtype=np.int64) * stride, np.arange(covered, n, dtype=np.int64)])
    ends = starts + np.where(np.arange(len(ids)) < m, k, 1)
    return ids, np.stack([starts, ends], axis=1)
