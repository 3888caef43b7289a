"""Byte-pair-encoding tokenizers trained on DNA or protein with ``tokenizers.trainers.BpeTrainer``.

No whitespace pre-tokenization: a sequence is one string. Because BPE without any pre-tokenizer would treat a
whole chromosome as one "word" (slow training, no word cache, unbounded memory per word), the pre-tokenizer cuts
the normalized sequence into consecutive pieces of ``chunk_size`` letters (``Split`` on ``[\\s\\S]{1,chunk}``);
merges never cross a piece boundary. The same cut is applied at training and encoding time, so
:func:`bioLM.tokenization.encode_sequence` (which slices the string into the same pieces and encodes them in
batches on the Rust side) returns exactly the ids of ``tokenizer(sequence)`` without special tokens.

Vocabulary: specials 0-4, then the alphabet's single letters (``initial_alphabet``, so every valid letter has a
token even when absent from the training data), then the learned merges up to ``vocab_size``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from bioLM.errors import AlphabetError, ConfigError, InputFormatError
from bioLM.io import read_fastx
from bioLM.tokenization.special import SPECIAL_TOKENS, UNK, letters_of, normalizer, post_processor

logger = logging.getLogger(__name__)

DEFAULT_CHUNK = 4096
_FEED = 64  # pieces per string handed to the trainer


def bpe_backend(alphabet: str = "dna", chunk_size: int = DEFAULT_CHUNK) -> Tokenizer:
    """An untrained BPE pipeline: upper-case normalizer, fixed-length pieces, Fuse decoder, bos/eos template."""
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.normalizer = normalizer(alphabet)
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(f"[\\s\\S]{{1,{chunk_size}}}"), behavior="isolated")
    tokenizer.post_processor = post_processor()
    tokenizer.decoder = decoders.Fuse()
    return tokenizer


def train_bpe(vocab_size: int = 4096, alphabet: str = "dna", sequences: Iterable[str] | None = None,
              files: Iterable[str | Path] | None = None, chunk_size: int = DEFAULT_CHUNK,
              min_frequency: int = 2, max_token_length: int | None = None) -> Tokenizer:
    """Train a BPE ``tokenizers.Tokenizer`` on ``sequences`` and/or the records of FASTA/FASTQ ``files``."""
    letters = letters_of(alphabet)
    smallest = len(SPECIAL_TOKENS) + len(letters)
    if vocab_size < smallest:
        raise ConfigError(f"vocab_size={vocab_size} is smaller than the {smallest} special and single-letter "
                          f"tokens of the {alphabet} alphabet; use at least {smallest} (typically 512-32000)")
    if chunk_size < 16:
        raise ConfigError(f"chunk_size={chunk_size} is too small; use a few thousand letters")
    if sequences is None and files is None:
        raise ConfigError("a BPE tokenizer needs training data: pass sequences=... or files=[FASTA, ...]")
    tokenizer = bpe_backend(alphabet, chunk_size)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(letters), show_progress=False, max_token_length=max_token_length)
    letters_seen = [0]
    tokenizer.train_from_iterator(_pieces(_training_sequences(sequences, files, alphabet), chunk_size, letters_seen),
                                  trainer)
    if not letters_seen[0]:
        where = ", ".join(str(path) for path in files or ()) or "sequences=..."
        raise ConfigError(f"the BPE training data ({where}) holds no sequence letters (only headers or empty "
                          "records); give FASTA/FASTQ files with sequences")
    logger.info("trained BPE: %d tokens", tokenizer.get_vocab_size())
    return tokenizer


def _pieces(sequences: Iterable[str], chunk_size: int, letters_seen: list[int]) -> Iterator[str]:
    """Strings of at most ``_FEED * chunk_size`` letters (a multiple of the piece size, so pieces are unchanged);
    adds the letters yielded to ``letters_seen[0]``."""
    step = _FEED * chunk_size
    for sequence in sequences:
        letters_seen[0] += len(sequence)
        for start in range(0, len(sequence), step):
            yield sequence[start:start + step]


def _training_sequences(sequences: Iterable[str] | None, files: Iterable[str | Path] | None,
                        alphabet: str) -> Iterator[str]:
    if sequences is not None:
        yield from sequences
    for path in files or ():
        yield from read_sequences(path, alphabet)


def _detected_alphabet(path: Path) -> str | None:
    """The alphabet :func:`bioLM.io.read_fastx` detects from the first non-empty record (None: no sequences)."""
    reader = read_fastx(path)
    for _ in reader:
        if reader.alphabet is not None:
            return reader.alphabet.name
    return None


def read_sequences(path: str | Path, alphabet: str = "dna") -> Iterator[str]:
    """Sequences of the records of a FASTA/FASTQ file (plain or gzip), through :func:`bioLM.io.read_fastx`."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError("file not found; check the path of the training FASTA", path=path)
    expected = "dna" if alphabet == "rna" else alphabet
    detected = _detected_alphabet(path)
    if detected is not None and ("protein" in (detected, expected)) and detected != expected:
        raise AlphabetError(f"the first record reads as {detected}, but the tokenizer's alphabet is {alphabet}; "
                            f"pass --alphabet {detected if detected == 'protein' else 'dna'} (alphabet=...) or "
                            "give a file of the right kind", path=path, record=None, line=None)
    for record in read_fastx(path, alphabet=expected, replace_invalid=True):
        yield record.sequence
