"""Reading and checking the token shards of a prepared dataset (``np.memmap``, no copies).

A split is a list of shard files of raw token ids; a training window never crosses a shard boundary.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bioLM.data.manifest import Manifest, load_manifest
from bioLM.errors import InputFormatError

logger = logging.getLogger(__name__)


@dataclass
class Split:
    """The shards of one split as memmaps, with optional parallel soft-mask memmaps (uint8, 1 = masked)."""

    name: str
    tokens: list[np.memmap]
    masks: list[np.memmap] | None

    @property
    def n_tokens(self) -> int:
        return int(sum(len(t) for t in self.tokens))


def open_split(directory: str | Path, split: str, manifest: Manifest | None = None) -> Split:
    """Memory-map the shards of ``split`` ('train' or 'val'); sizes are checked against the manifest."""
    directory = Path(directory)
    manifest = manifest or load_manifest(directory)
    if split not in manifest.splits:
        raise InputFormatError(f"dataset has no {split!r} split (has {sorted(manifest.splits)})", path=directory)
    dtype = np.dtype(manifest.dtype)
    tokens, masks = [], []
    for shard in manifest.splits[split].shards:
        tokens.append(_open(directory / shard.file, dtype, shard.tokens))
        if manifest.soft_mask and shard.mask_file:
            masks.append(_open(directory / shard.mask_file, np.dtype(np.uint8), shard.tokens))
    return Split(split, tokens, masks if manifest.soft_mask else None)


def _open(path: Path, dtype: np.dtype, n_tokens: int) -> np.memmap:
    if not path.is_file():
        raise InputFormatError("shard file is missing; run `biolm prepare` again to rebuild the dataset",
                               path=path)
    size = path.stat().st_size
    if size != n_tokens * dtype.itemsize:
        raise InputFormatError(f"shard has {size} bytes but the manifest says {n_tokens} tokens of {dtype} "
                               f"({n_tokens * dtype.itemsize} bytes): truncated or corrupt; run `biolm prepare` "
                               "again", path=path)
    if n_tokens == 0:
        return np.zeros(0, dtype=dtype)  # type: ignore[return-value]
    return np.memmap(path, dtype=dtype, mode="r", shape=(n_tokens,))


def verify_dataset(directory: str | Path, vocab_size: int | None = None, tokenizer_sha256: str | None = None,
                   full: bool | None = None) -> Manifest:
    """Check a dataset before training: manifest readable, shards present with the right sizes, the tokenizer
    hash matching when given, and the shards' sha256 and token ids below ``vocab_size``:

    - ``full=True`` (``biolm prepare --verify``): every shard is read and hashed;
    - ``full=None`` (the default, before every run and resume): only the shards that may have changed since
      they were hashed are read: those whose mtime differs from the manifest's record (or has none), and those
      not older than ``manifest.json`` (changed in the same clock tick as it was written: git's "racily clean"
      rule). A shard changed in place gets a new mtime, so corruption is still caught before training;
      unchanged shards cost a ``stat``;
    - ``full=False``: sizes only.

    Raises InputFormatError naming the file and how to fix it.
    """
    directory = Path(directory)
    manifest = load_manifest(directory)
    if tokenizer_sha256 is not None and manifest.tokenizer.sha256 != tokenizer_sha256:
        raise InputFormatError(
            f"dataset was tokenized with a different tokenizer ({manifest.tokenizer.kind}, sha256 "
            f"{manifest.tokenizer.sha256[:12]}...) than the one given (sha256 {tokenizer_sha256[:12]}...); "
            "prepare the corpus again with this tokenizer or train with the dataset's own tokenizer",
            path=directory / "manifest.json")
    written = (directory / "manifest.json").stat().st_mtime_ns
    hashed = 0
    for split in ("train", "val"):
        opened = open_split(directory, split, manifest)
        for shard, array in zip(manifest.splits[split].shards, opened.tokens):
            if full or (full is None and _may_have_changed(directory / shard.file, shard.mtime_ns, written)):
                _verify_shard(directory / shard.file, shard.sha256, array, vocab_size)
                hashed += 1
    if hashed < sum(len(s.shards) for s in manifest.splits.values()) and vocab_size is not None \
            and manifest.tokenizer.vocab_size > vocab_size:
        raise InputFormatError(f"dataset was tokenized with {manifest.tokenizer.vocab_size} token ids, more than "
                               f"the vocabulary size {vocab_size}; the dataset does not belong to this tokenizer",
                               path=directory / "manifest.json")
    logger.debug("verified %s: %d shard(s) hashed", directory, hashed)
    if manifest.splits["train"].tokens == 0:
        raise InputFormatError("dataset has no training tokens; give a larger corpus", path=directory)
    return manifest


def _may_have_changed(path: Path, recorded_mtime_ns: int | None, manifest_mtime_ns: int) -> bool:
    mtime = path.stat().st_mtime_ns
    return recorded_mtime_ns is None or mtime != recorded_mtime_ns or mtime >= manifest_mtime_ns


def _verify_shard(path: Path, sha256: str, array: np.ndarray, vocab_size: int | None,
                  chunk: int = 1 << 24) -> None:
    digest = hashlib.sha256()
    for start in range(0, len(array), chunk):
        block = np.asarray(array[start:start + chunk])
        digest.update(block.tobytes())
        if vocab_size is not None and len(block) and int(block.max()) >= vocab_size:
            raise InputFormatError(f"shard holds token id {int(block.max())} >= vocabulary size {vocab_size}; "
                                   "the dataset does not belong to this tokenizer", path=path)
    if digest.hexdigest() != sha256:
        raise InputFormatError("shard checksum does not match the manifest (corrupt file); run `biolm prepare` "
                               "again", path=path)


def window_start_counts(lengths: list[int], window: int) -> tuple[np.ndarray, np.ndarray]:
    """For shards of ``lengths`` tokens, the number of valid window starts per shard (a window of ``window``
    tokens fits inside the shard) and their cumulative offsets. Returns (counts, cumulative) with
    ``cumulative[i]`` = starts before shard i."""
    counts = np.array([max(0, n - window + 1) for n in lengths], dtype=np.int64)
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    return counts, cumulative
