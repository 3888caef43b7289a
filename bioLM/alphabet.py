"""Alphabets of DNA, RNA and protein, and the one policy bioLM applies to sequence letters.

Policy (used by the readers, the tokenizers and the compressor alike):

* Sequences are upper-cased. Lowercase letters (soft-masked repeats in genome assemblies) are not an
  error; :func:`soft_mask` gives a boolean mask of them for callers that want it (the loss can
  down-weight them).
* RNA is read as DNA: ``U`` becomes ``T`` (``rna_as_dna=False`` keeps ``U``).
* A character outside the alphabet is an error naming the character and its position, unless the
  caller opts into a replacement character (``N`` for nucleotides, ``X`` for proteins).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bioLM.errors import AlphabetError

AlphabetName = Literal["dna", "rna", "protein"]

DNA_CANONICAL = "ACGT"
IUPAC_DNA = "ACGTNRYSWKMBDHV"  # N plus the two- and three-base ambiguity codes
IUPAC_COMPLEMENT = str.maketrans("ACGTNRYSWKMBDHVacgtnryswkmbdhv-", "TGCANYRSWMKVHDBtgcanyrswmkvhdb-")
PROTEIN_STANDARD = "ACDEFGHIKLMNPQRSTVWY"
PROTEIN_EXTRA = "BZXUO*"  # ambiguous (B, Z, X), selenocysteine U, pyrrolysine O, stop *


@dataclass(frozen=True)
class Alphabet:
    """A named set of valid (upper-case) letters, with the canonical subset and the replacement letter."""

    name: AlphabetName
    letters: str
    canonical: str
    unknown: str

    def __contains__(self, letter: str) -> bool:
        return letter in self.letters


DNA = Alphabet("dna", IUPAC_DNA + "-", DNA_CANONICAL, "N")
RNA = Alphabet("rna", IUPAC_DNA.replace("T", "U") + "T-", "ACGU", "N")
PROTEIN = Alphabet("protein", PROTEIN_STANDARD + PROTEIN_EXTRA + "-", PROTEIN_STANDARD, "X")
ALPHABETS: dict[str, Alphabet] = {"dna": DNA, "rna": RNA, "protein": PROTEIN}

_NUCLEOTIDE_LIKE = set("ACGTUN")
_PROTEIN_ONLY = set("EFILPQ")  # letters that are not IUPAC nucleotide codes
_IUPAC_NUCLEOTIDE = set(IUPAC_DNA + "U-")
MIN_IUPAC_DETECT = 10  # letters needed before a sequence rich in ambiguity codes is read as nucleotides


def get_alphabet(name: str | Alphabet) -> Alphabet:
    """Return the alphabet called ``name`` ('dna', 'rna' or 'protein')."""
    if isinstance(name, Alphabet):
        return name
    try:
        return ALPHABETS[name.lower()]
    except KeyError:
        raise AlphabetError(f"unknown alphabet {name!r}; valid: {sorted(ALPHABETS)}") from None


def detect_alphabet(sequence: str) -> AlphabetName:
    """Guess the alphabet of ``sequence`` (any case): protein if it has letters that no nucleotide code uses,
    or if fewer than 90% of its letters are A, C, G, T, U or N -- unless it has at least ``MIN_IUPAC_DETECT``
    letters, all IUPAC nucleotide codes, at least half of them A, C, G, T, U or N (a protein without any of
    E, F, I, L, P, Q that long is rare); RNA if it has U and no T; else DNA."""
    upper = sequence.upper()
    if not upper:
        return "dna"
    letters = set(upper)
    if letters & _PROTEIN_ONLY:
        return "protein"
    nucleotide_like = sum(upper.count(c) for c in _NUCLEOTIDE_LIKE)
    iupac_rich = len(upper) >= MIN_IUPAC_DETECT and letters <= _IUPAC_NUCLEOTIDE and 2 * nucleotide_like >= len(upper)
    if nucleotide_like < 0.9 * len(upper) and not iupac_rich:
        return "protein"
    if "U" in letters and "T" not in letters:
        return "rna"
    return "dna"


def soft_mask(sequence: str) -> np.ndarray:
    """Boolean array, True where ``sequence`` has a lowercase (soft-masked) letter. Shape ``(len(sequence),)``."""
    raw = np.frombuffer(sequence.encode("latin-1"), dtype=np.uint8)
    return (raw >= ord("a")) & (raw <= ord("z"))


class LetterPolicy:
    """The policy above for one alphabet, with the byte tables of its fast path built once.

    ``apply`` costs one ``encode`` and one deleting ``bytes.translate`` (C loops, no per-letter Python) for the
    common case of a valid upper-case sequence, which is returned as is; lower case, ``U`` and invalid letters
    take the slower paths. The readers keep one per file; :func:`normalize` caches one per alphabet.
    """

    def __init__(self, alphabet: str | Alphabet = "dna", *, rna_as_dna: bool = True) -> None:
        self.alphabet = get_alphabet(alphabet)
        self.rna_as_dna = rna_as_dna
        nucleotide_to_dna = self.alphabet.name in ("dna", "rna") and rna_as_dna
        self.valid = DNA.letters if nucleotide_to_dna else self.alphabet.letters
        self._valid_bytes = self.valid.encode("ascii")
        self._valid_set = frozenset(self.valid)
        lower = bytes(range(ord("a"), ord("z") + 1))
        source, target = lower, lower.upper()
        if nucleotide_to_dna:
            source, target = source + b"U", target.replace(b"U", b"T") + b"T"
        self._upper_bytes = bytes.maketrans(source, target)
        self._upper_str = dict(zip(source, target))

    def apply(self, sequence: str, *, replace_invalid: bool = False, path: str | None = None,
              record: str | None = None) -> str:
        """``sequence`` upper-cased, ``U`` -> ``T`` for nucleotides (unless ``rna_as_dna=False``), letters checked.

        Raises :class:`AlphabetError` naming the first invalid character and its 0-based position (``position``
        attribute), or with ``replace_invalid=True`` replaces every invalid character by the unknown letter.
        """
        if sequence.isascii():
            raw = sequence.encode("ascii")
            if not raw.translate(None, self._valid_bytes):
                return sequence  # valid and upper-case already: the common case, nothing copied back
            upper = raw.translate(self._upper_bytes)
            if not upper.translate(None, self._valid_bytes):
                return upper.decode("ascii")
        upper = sequence.translate(self._upper_str)  # ASCII letters only: positions never shift
        bad = set(upper) - self._valid_set
        if not bad:
            return upper
        if replace_invalid:
            return upper.translate({ord(c): self.alphabet.unknown for c in bad})
        position = min(upper.index(c) for c in bad)
        char = sequence[position]
        kind = "non-ASCII character" if not char.isascii() else "character"
        raise AlphabetError(
            f"{kind} {char!r} at position {position} is not in the {self.alphabet.name} alphabet "
            f"(valid: {self.valid}); fix the input or opt into replacement by {self.alphabet.unknown!r}",
            path=path, record=record, position=position)


@functools.cache
def letter_policy(alphabet: str | Alphabet = "dna", rna_as_dna: bool = True) -> LetterPolicy:
    """The shared :class:`LetterPolicy` of ``alphabet``."""
    return LetterPolicy(alphabet, rna_as_dna=rna_as_dna)


def normalize(sequence: str, alphabet: str | Alphabet = "dna", *, rna_as_dna: bool = True,
              replace_invalid: bool = False, path: str | None = None, record: str | None = None) -> str:
    """Apply the policy above: upper-case, U->T for nucleotides (unless ``rna_as_dna=False``), and check letters.

    Raises :class:`AlphabetError` naming the first invalid character and its 0-based position, or, with
    ``replace_invalid=True``, replaces every invalid character by the alphabet's unknown letter.
    """
    return letter_policy(alphabet, rna_as_dna).apply(sequence, replace_invalid=replace_invalid, path=path,
                                                     record=record)


def reverse_complement(sequence: str) -> str:
    """Reverse complement of a DNA sequence (IUPAC codes complemented, case kept)."""
    return sequence.translate(IUPAC_COMPLEMENT)[::-1]


def gc_fraction(sequence: str) -> float:
    """G+C over A+C+G+T of an upper-case sequence (0.0 when it has no ACGT)."""
    gc = sequence.count("G") + sequence.count("C")
    at = sequence.count("A") + sequence.count("T")
    return gc / (gc + at) if gc + at else 0.0
