"""The ``manifest.json`` of a prepared dataset: what was tokenized, how, and where the shards are.

Written last by :func:`bioLM.data.prepare.prepare_corpus`, so a dataset directory with a manifest is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioLM.errors import InputFormatError
from bioLM.io.atomic import atomic_write

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class ShardInfo:
    """One shard file of a split: ``file`` relative to the dataset directory, ``tokens`` ids in it, the sha256 of
    its bytes and its modification time when written (``mtime_ns``: a shard whose mtime differs is hashed again
    before training; None in manifests of older versions)."""

    file: str
    tokens: int
    bases: int
    sha256: str
    mask_file: str | None = None
    mtime_ns: int | None = None


@dataclass
class SplitInfo:
    """Totals of one split (``train`` or ``val``) and its shards."""

    tokens: int = 0
    bases: int = 0
    records: int = 0
    shards: list[ShardInfo] = field(default_factory=list)


@dataclass
class SourceInfo:
    """One input file: path as given, sha256 of its bytes, records and bases read from it, and its size and
    mtime when hashed (a re-run whose inputs have the same path, size and mtime reuses the hash unread)."""

    path: str
    sha256: str
    records: int = 0
    bases: int = 0
    size: int | None = None
    mtime_ns: int | None = None


@dataclass
class TokenizerInfo:
    """Identity of the tokenizer: kind, alphabet, k, stride, ``len(tokenizer)`` and the sha256 of its JSON."""

    kind: str
    alphabet: str
    k: int | None
    stride: int | None
    vocab_size: int
    sha256: str


@dataclass
class Manifest:
    """Everything needed to check a dataset against a tokenizer and to reproduce it."""

    biolm_version: str
    tokenizer: TokenizerInfo
    sources: list[SourceInfo]
    splits: dict[str, SplitInfo]
    dtype: str
    eos_id: int
    soft_mask: bool
    prepare_config: dict[str, Any]
    fingerprint: str
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        data = dict(data)
        data["tokenizer"] = TokenizerInfo(**data["tokenizer"])
        data["sources"] = [SourceInfo(**s) for s in data["sources"]]
        data["splits"] = {name: SplitInfo(**{**s, "shards": [ShardInfo(**h) for h in s["shards"]]})
                          for name, s in data["splits"].items()}
        return cls(**data)

    def save(self, directory: str | Path) -> Path:
        """Write ``manifest.json`` into ``directory`` (via a temporary file and a rename)."""
        path = Path(directory) / MANIFEST_NAME
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        return atomic_write(path, lambda tmp: tmp.write_text(text))


def load_manifest(directory: str | Path) -> Manifest:
    """Read ``<directory>/manifest.json``; a missing or unreadable manifest is an InputFormatError."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise InputFormatError(f"no {MANIFEST_NAME}: not a prepared dataset (or an interrupted one); "
                               "run `biolm prepare` to (re)build it", path=directory)
    try:
        return Manifest.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputFormatError(f"corrupt manifest ({error}); delete the dataset directory and run "
                               "`biolm prepare` again", path=path) from None


def fingerprint(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``payload`` (inputs, tokenizer, config, version)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


