"""Corpus preparation: FASTA/FASTQ files to token shards plus ``manifest.json`` (``biolm prepare``).

Streams records one at a time (memory holds one record), splits them at long runs of N, cuts long pieces into
windows, tokenizes each window with ``encode_sequence`` and appends the ids to the shard of its split, with
``<eos>`` between records and between pieces separated by an N run. Train/validation: whole records chosen
by a seeded shuffle when they make up ``val_fraction`` of the bases within ``val_tolerance``, else the last
``val_fraction`` of the bases of every record (``split_by="auto"``; ``record`` / ``region`` force one), so the
same bases never appear in both and the held-out share is what was asked. The split made is logged.
A first pass over the inputs indexes record lengths (for the split and the progress bar) while a thread hashes
each file (the dataset's fingerprint); a re-run whose inputs keep their path, size and mtime reuses the recorded
hashes and reads no input at all.

Atomicity: everything is written into a temporary sibling directory that replaces ``out_dir`` only when
complete, and the manifest is written last; re-running with the same inputs, tokenizer and config is a no-op
when every shard still passes verification (sizes, and sha256 of the shards whose mtime changed, or of all
with ``verify``), and rebuilds the dataset when one does not.
"""

from __future__ import annotations

import array
import dataclasses
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from bioLM import __version__
from bioLM.data.manifest import (
    Manifest,
    ShardInfo,
    SourceInfo,
    SplitInfo,
    TokenizerInfo,
    fingerprint,
    load_manifest,
)
from bioLM.errors import BioLMError, ConfigError, InputFormatError
from bioLM.io.fingerprint import file_sha256
from bioLM.io.seqfile import SEQUENCE_SUFFIXES, sequence_file_stem
from bioLM.tokenization.special import EOS_ID

logger = logging.getLogger(__name__)


@dataclass
class PrepareConfig:
    """How a corpus is cut and split."""

    val_fraction: float = 0.1
    """Fraction of bases held out for validation."""
    seed: int = 0
    """Seed of the train/validation choice."""
    split_by: Literal["auto", "record", "region"] = "auto"
    """``record`` (whole records held out), ``region`` (the last ``val_fraction`` of every record) or
    ``auto`` (record when whole records make up ``val_fraction`` within ``val_tolerance``, else region)."""
    val_tolerance: float = 0.2
    """Relative tolerance of a whole-record split: the held-out bases must lie within
    ``val_fraction * (1 +- val_tolerance)`` (0.1 -> 8%-12%)."""
    window_bases: int = 1_000_000
    """Pieces longer than this are tokenized in windows of this many bases (rounded down to a multiple of k)."""
    n_run_threshold: int = 100
    """Runs of N at least this long split the sequence (and are dropped)."""
    soft_mask: bool = False
    """Store a parallel uint8 array marking tokens on soft-masked (lower-case) bases."""
    shard_tokens: int = 1 << 28
    """Start a new shard file after this many tokens."""
    alphabet: str | None = None
    """Alphabet passed to the reader (``None``: the tokenizer's)."""
    replace_invalid: bool = False
    """Replace letters outside the alphabet by N/X instead of failing."""


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given, and the FASTA/FASTQ files (optionally .gz/.bgz) inside directories, sorted."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and sequence_file_stem(p.name) is not None)
            if not found:
                raise InputFormatError("directory holds no FASTA/FASTQ files "
                                       f"(looked for {', '.join(SEQUENCE_SUFFIXES)} and .gz)", path=path)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputFormatError("input file does not exist", path=path)
    if not files:
        raise ConfigError("no input files given; name FASTA/FASTQ files or a directory of them")
    for path in files:  # before any work: a file that cannot be opened fails now, by name
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise InputFormatError(f"cannot read the file ({error.strerror}); check its permissions",
                                   path=path) from None
    return files


def tokenizer_sha256(tokenizer) -> str:
    """sha256 of the tokenizer's canonical JSON (``backend_tokenizer.to_str()``): its identity."""
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()


def tokenizer_info(tokenizer) -> TokenizerInfo:
    """Kind, alphabet, k, stride, size and hash of a tokenizer, for the manifest."""
    from bioLM.tokenization import tokenizer_spec

    spec = tokenizer_spec(tokenizer)
    return TokenizerInfo(kind=str(spec.kind), alphabet=str(spec.alphabet), k=getattr(spec, "k", None),
                         stride=getattr(spec, "stride", None), vocab_size=len(tokenizer),
                         sha256=tokenizer_sha256(tokenizer))


class _ShardWriter:
    """Appends token ids (and mask bytes) to numbered shard files of one split, hashing as it writes."""

    def __init__(self, root: Path, split: str, dtype: np.dtype, shard_tokens: int, soft_mask: bool) -> None:
        self.root, self.split, self.dtype = root, split, dtype
        self.shard_tokens, self.soft_mask = shard_tokens, soft_mask
        (root / split).mkdir(parents=True, exist_ok=True)
        self.info = SplitInfo()
        self._handle = self._mask_handle = None
        self._digest = None

    def _open(self) -> None:
        name = f"{self.split}/shard_{len(self.info.shards):05d}"
        shard = ShardInfo(file=f"{name}.bin", tokens=0, bases=0, sha256="",
                          mask_file=f"{name}.mask" if self.soft_mask else None)
        self.info.shards.append(shard)
        self._handle = open(self.root / shard.file, "wb")  # noqa: SIM115 (closed in _close_shard)
        self._mask_handle = open(self.root / shard.mask_file, "wb") if self.soft_mask else None  # noqa: SIM115
        self._digest = hashlib.sha256()

    def write(self, ids: np.ndarray, bases: int, mask: np.ndarray | None = None) -> None:
        if self._handle is None:
            self._open()
        data = np.ascontiguousarray(ids, dtype=self.dtype).tobytes()
        self._handle.write(data)
        self._digest.update(data)
        if self._mask_handle is not None:
            m = np.zeros(len(ids), np.uint8) if mask is None else mask.astype(np.uint8)
            self._mask_handle.write(m.tobytes())
        shard = self.info.shards[-1]
        shard.tokens += len(ids)
        shard.bases += bases
        self.info.tokens += len(ids)
        self.info.bases += bases
        if shard.tokens >= self.shard_tokens:
            self._close_shard()

    def _close_shard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            if self._mask_handle is not None:
                self._mask_handle.close()
            shard = self.info.shards[-1]
            shard.sha256 = self._digest.hexdigest()
            shard.mtime_ns = (self.root / shard.file).stat().st_mtime_ns  # kept by the rename into place
            self._handle = self._mask_handle = None

    def close(self) -> SplitInfo:
        self._close_shard()
        return self.info


def _pieces(sequence: str, threshold: int) -> list[tuple[int, int]]:
    """[start, end) spans of ``sequence`` between runs of >= ``threshold`` N (0-based half-open)."""
    spans, position = [], 0
    for match in re.finditer(f"N{{{max(1, threshold)},}}", sequence):
        if match.start() > position:
            spans.append((position, match.start()))
        position = match.end()
    if position < len(sequence):
        spans.append((position, len(sequence)))
    return spans


@dataclass
class Index:
    """The first pass's result: file index (R,) and length (R,) of every record, records per file."""

    file_index: np.ndarray
    lengths: np.ndarray
    counts: list[int]


def _index(files: list[Path], read_kwargs: dict, hash_files: bool) -> tuple[Index, list[str] | None]:
    """First pass: (file index, length) of every record and the record count per file; with ``hash_files``
    also the sha256 of every file, computed in a thread while the records are read (the two reads of a file run
    at the same time, so it comes from disk about once: one pass of wall time instead of two)."""
    from concurrent.futures import ThreadPoolExecutor

    from bioLM.io import read_fastx

    file_index, lengths, counts, hashes = array.array("q"), array.array("q"), [], []
    with ThreadPoolExecutor(max_workers=1) as pool:
        for i, path in enumerate(files):
            digest = pool.submit(file_sha256, path) if hash_files else None
            n = 0
            for record in read_fastx(path, **read_kwargs):
                file_index.append(i)
                lengths.append(len(record.sequence))
                n += 1
            counts.append(n)
            if digest is not None:
                hashes.append(digest.result())
    index = Index(np.frombuffer(file_index, np.int64), np.frombuffer(lengths, np.int64), counts)
    return index, hashes if hash_files else None


def shard_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocabulary <= 65,536), else uint32."""
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def choose_validation(lengths: np.ndarray, val_fraction: float, seed: int, tolerance: float = 0.2) -> np.ndarray:
    """Boolean per record: held out for validation. Records are visited in a seeded shuffle and taken when they
    keep the held-out bases under ``val_fraction * (1 + tolerance)`` of the total, until ``val_fraction`` is
    reached; at least one record stays in training. The result may fall short of ``val_fraction * (1 -
    tolerance)`` (records too long): :func:`choose_split` then splits by region."""
    n = len(lengths)
    held = np.zeros(n, dtype=bool)
    if n < 2 or val_fraction <= 0:
        return held
    total = float(lengths.sum())
    target, high = val_fraction * total, (1 + tolerance) * val_fraction * total
    taken = count = 0
    for i in np.random.default_rng(seed).permutation(n):
        if taken >= target or count >= n - 1:
            break
        if taken + int(lengths[i]) <= high:
            held[i] = True
            taken += int(lengths[i])
            count += 1
    return held


def choose_split(lengths: np.ndarray, config: PrepareConfig) -> tuple[bool, np.ndarray]:
    """(region split?, records held out whole) for ``config.split_by``; logs the split made."""
    held = np.zeros(len(lengths), dtype=bool)
    total = int(lengths.sum())
    if config.val_fraction <= 0 or total == 0:
        return False, held
    if config.split_by != "region":
        held = choose_validation(lengths, config.val_fraction, config.seed, config.val_tolerance)
        share = int(lengths[held].sum()) / total
        fits = abs(share - config.val_fraction) <= config.val_tolerance * config.val_fraction
        if fits or config.split_by == "record":
            log = logger.info if fits else logger.warning
            log("validation split: %d of %d whole records, %.1f%% of the bases (val_fraction %.3g%s)",
                held.sum(), len(lengths), 100 * share, config.val_fraction,
                "" if fits else "; whole records cannot make it up: split_by='region' or 'auto' would")
            return False, held
        logger.info("validation split: the last %.3g of every record (%d records): whole records would hold out "
                    "%.1f%% of the bases, outside val_fraction %.3g +- %.0f%%", config.val_fraction, len(lengths),
                    100 * share, config.val_fraction, 100 * config.val_tolerance)
    else:
        logger.info("validation split: the last %.3g of every record (%d records)", config.val_fraction, len(lengths))
    return True, np.zeros(len(lengths), dtype=bool)


def prepare_corpus(inputs: Sequence[str | Path], tokenizer, out_dir: str | Path,
                   config: PrepareConfig | None = None, verify: bool = False) -> Manifest:
    """Tokenize FASTA/FASTQ ``inputs`` (files or directories) into ``out_dir`` (shards + manifest).

    ``tokenizer`` is a ``PreTrainedTokenizerFast`` or a tokenizer directory; it is saved into
    ``out_dir/tokenizer``. Returns the manifest; a no-op when ``out_dir`` already holds the same dataset and
    its shards pass verification (``verify``: every shard hashed; else only those whose mtime changed, see
    :func:`bioLM.data.shards.verify_dataset`); a dataset that fails is rebuilt.

    Reads of the inputs: a fresh corpus is read twice (an index pass, hashing in a thread at the same time,
    and the build pass); a re-run whose inputs keep their path, size and mtime reads none of them.
    """
    from bioLM.tokenization import load_tokenizer

    config = config or PrepareConfig()
    if not 0 <= config.val_fraction < 1:
        raise ConfigError(f"val_fraction={config.val_fraction} must be in [0, 1)")
    if not 0 <= config.val_tolerance < 1:
        raise ConfigError(f"val_tolerance={config.val_tolerance} must be in [0, 1)")
    if config.split_by not in ("auto", "record", "region"):
        raise ConfigError(f"split_by={config.split_by!r} is not one of ['auto', 'record', 'region']")
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer(tokenizer)
    out_dir = Path(out_dir)
    files = expand_inputs(inputs)
    tok = tokenizer_info(tokenizer)
    stats = [_stat(p) for p in files]
    known = _known_hashes(out_dir, files, stats)  # inputs unchanged since the last prepare: their hashes
    if known is not None:
        existing = _existing(out_dir, _key(tok, known, config), verify)
        if existing is not None:
            logger.info("dataset %s is up to date (fingerprint %s)", out_dir, existing.fingerprint[:12])
            return existing
    read_kwargs = {"alphabet": config.alphabet or tok.alphabet, "replace_invalid": config.replace_invalid,
                   "keep_soft_mask": config.soft_mask}
    index, hashes = _index(files, read_kwargs, hash_files=known is None)
    source_sha = known if hashes is None else hashes
    key = _key(tok, source_sha, config)
    if known is None and (existing := _existing(out_dir, key, verify)) is not None:
        _record_mtimes(existing, out_dir, stats)  # same contents under new mtimes (touched, copied)
        logger.info("dataset %s is up to date (fingerprint %s)", out_dir, key[:12])
        return existing
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        manifest = _build(files, index, read_kwargs, tokenizer, tok, tmp, config, key)
        for source, (size, mtime), sha in zip(manifest.sources, stats, source_sha):
            source.sha256, source.size, source.mtime_ns = sha, size, mtime
        tokenizer.save_pretrained(tmp / "tokenizer")
        manifest.save(tmp)  # last: a directory with a manifest is complete
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("prepared %s: %d train / %d val tokens", out_dir, manifest.splits["train"].tokens,
                manifest.splits["val"].tokens)
    return manifest


def _record_mtimes(manifest: Manifest, out_dir: Path, stats: list[tuple[int, int]]) -> None:
    """Record the inputs' sizes and mtimes and the just-verified shards' mtimes in ``out_dir``'s manifest (inputs
    touched or copied, or a manifest of an older version), so that the next run reads and hashes nothing."""
    recorded = manifest.to_dict()
    for source, (size, mtime) in zip(manifest.sources, stats):
        source.size, source.mtime_ns = size, mtime
    for shard in (shard for split in manifest.splits.values() for shard in split.shards):
        shard.mtime_ns = (out_dir / shard.file).stat().st_mtime_ns
    if manifest.to_dict() != recorded:  # else (inputs as new as the manifest only) it stays as it is
        manifest.save(out_dir)


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _key(tok: TokenizerInfo, source_sha: list[str], config: PrepareConfig) -> str:
    """The dataset's fingerprint: version, tokenizer, input hashes and config."""
    return fingerprint({"version": __version__, "tokenizer": tok.sha256, "sources": source_sha,
                        "config": dataclasses.asdict(config)})


def _known_hashes(out_dir: Path, files: list[Path], stats: list[tuple[int, int]]) -> list[str] | None:
    """The sha256 of ``files`` recorded in ``out_dir``'s manifest when every file has the path, size and mtime
    it had when hashed (the quick check of make and rsync); else None (the files must be read)."""
    try:
        sources = load_manifest(out_dir).sources if (out_dir / "manifest.json").is_file() else None
        written = (out_dir / "manifest.json").stat().st_mtime_ns
    except (BioLMError, OSError):
        return None
    if sources is None or len(sources) != len(files):
        return None
    for source, path, (size, mtime) in zip(sources, files, stats):
        # an input not older than the manifest may have changed in the clock tick it was hashed in (racy)
        if (source.path, source.size, source.mtime_ns) != (str(path), size, mtime) or mtime >= written:
            return None
    return [source.sha256 for source in sources]


def _existing(out_dir: Path, key: str, verify: bool = False) -> Manifest | None:
    """The manifest of ``out_dir`` when it holds this very dataset and its shards pass verification (sizes,
    and sha256 of the shards that may have changed or, with ``verify``, of all: a corrupt shard makes the
    dataset stale, so re-preparing rebuilds it); else None."""
    if not (out_dir / "manifest.json").is_file():
        return None
    from bioLM.data.shards import verify_dataset

    try:
        manifest = load_manifest(out_dir)
        if manifest.fingerprint != key:
            return None
        return verify_dataset(out_dir, full=True if verify else None)
    except BioLMError as error:
        logger.warning("dataset %s fails verification (%s): rebuilding it", out_dir, error)
        return None


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by the finished ``tmp`` directory with renames (the old one goes first)."""
    if out_dir.exists():
        trash = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(out_dir, trash)
        os.replace(tmp, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


def _build(files: list[Path], index: Index, read_kwargs: dict, tokenizer, tok: TokenizerInfo, root: Path,
           config: PrepareConfig, key: str) -> Manifest:
    """The build pass: tokenize every record into the shards of its split (sources' hashes left empty)."""
    from bioLM.io import read_fastx
    from bioLM.tokenization import bases_per_token

    lengths, counts = index.lengths, index.counts
    if len(lengths) == 0:
        raise InputFormatError("the inputs hold no records", path=files[0])
    region_split, held = choose_split(lengths, config)
    dtype = shard_dtype(tok.vocab_size)
    writers = {s: _ShardWriter(root, s, dtype, config.shard_tokens, config.soft_mask) for s in ("train", "val")}
    bpt = bases_per_token(tokenizer)
    window = config.window_bases
    if tok.k and tok.kind == "kmer":
        window = max(tok.k, window - window % tok.k)
    sources = [SourceInfo(path=str(p), sha256="", records=c) for p, c in zip(files, counts)]
    progress = tqdm(total=int(lengths.sum()), unit="b", unit_scale=True, desc="prepare", disable=None)
    ordinal = 0
    for i, path in enumerate(files):
        for record in read_fastx(path, **read_kwargs):
            seq = record.sequence
            sources[i].bases += len(seq)
            cut = len(seq) - int(np.ceil(config.val_fraction * len(seq))) if region_split else len(seq)
            parts = [("train" if not held[ordinal] else "val", 0, cut)]
            if cut < len(seq):
                parts.append(("val", cut, len(seq)))
            for split, lo, hi in parts:
                _write_region(writers[split], tokenizer, bpt, seq[lo:hi],
                              None if record.soft_mask is None else record.soft_mask[lo:hi], window, config)
                writers[split].info.records += 1
            progress.update(len(seq))
            ordinal += 1
    progress.close()
    splits = {name: writer.close() for name, writer in writers.items()}
    return Manifest(biolm_version=__version__, tokenizer=tok, sources=sources, splits=splits, dtype=dtype.name,
                    eos_id=EOS_ID, soft_mask=config.soft_mask, prepare_config=dataclasses.asdict(config),
                    fingerprint=key)


def _write_region(writer: _ShardWriter, tokenizer, bpt: np.ndarray, seq: str, mask: np.ndarray | None,
                  window: int, config: PrepareConfig) -> None:
    """Tokenize one record region: pieces between long N runs, each followed by ``<eos>``."""
    for lo, hi in _pieces(seq, config.n_run_threshold):
        for start, ids in _encode_windows(tokenizer, seq, lo, hi, window):
            token_mask = None
            if config.soft_mask:
                token_mask = _token_mask(ids, bpt, mask, start) if mask is not None else None
            writer.write(ids, bases=min(hi, start + window) - start, mask=token_mask)
        writer.write(np.array([EOS_ID]), bases=0)


def _encode_windows(tokenizer, seq: str, lo: int, hi: int, window: int) -> Iterator[tuple[int, np.ndarray]]:
    from bioLM.tokenization import encode_sequence

    for start in range(lo, hi, window):
        yield start, np.asarray(encode_sequence(tokenizer, seq[start:min(hi, start + window)]))


def _token_mask(ids: np.ndarray, bpt: np.ndarray, mask: np.ndarray, start: int) -> np.ndarray:
    """1 for tokens whose bases are mostly soft-masked; token spans from cumulative bases per token."""
    widths = bpt[ids].astype(np.int64)
    ends = np.clip(np.cumsum(widths) + start, 0, len(mask))  # positions inside the region
    begins = np.clip(ends - widths, 0, len(mask))
    masked = np.concatenate([[0], np.cumsum(mask.astype(np.int64))])
    counts = masked[ends] - masked[begins]
    width = np.maximum(ends - begins, 1)
    return (2 * counts > width).astype(np.uint8)
