"""Task loading for benchmarks: the formats of :mod:`bioLM.scoring.tasks` plus the Genomic Benchmarks layout,
seeded subsets, and train/test leakage (exact duplicate sequences).

Genomic Benchmarks layout (``format: genomic-benchmarks``, detected when a ``train/`` and a ``test/`` folder
exist): ``train/`` and ``test/`` each hold one entry per class, either a folder of ``*.txt`` files with one
sequence each (the published layout) or one FASTA file per class. Classes are the sorted entry names; the
validation split is a seeded stratified 10% of ``train``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bioLM.alphabet import detect_alphabet, normalize
from bioLM.errors import ConfigError, InputFormatError
from bioLM.io.seqfile import sequence_file_stem
from bioLM.scoring.tasks import (
    SPLITS,
    Task,
    TaskSplit,
    class_fasta_sequences,
    load_task,
    stratified_split,
)

logger = logging.getLogger(__name__)


def _class_entries(split_dir: Path) -> list[tuple[str, Path]]:
    entries = []
    for entry in sorted(split_dir.iterdir()):
        if entry.is_dir():
            entries.append((entry.name, entry))
        elif (stem := sequence_file_stem(entry.name)) is not None:
            entries.append((stem, entry))
    if len(entries) < 2:
        raise InputFormatError("expected one folder (of .txt sequences) or one FASTA file per class, found "
                               f"{len(entries)} class(es)", path=split_dir)
    return entries


def _class_sequences(entry: Path) -> list[str]:
    if not entry.is_dir():
        return class_fasta_sequences(entry)
    files = sorted(entry.glob("*.txt"))
    if not files:
        raise InputFormatError("class folder holds no *.txt sequence files", path=entry)
    raw = [f.read_text().strip() for f in files]
    alphabet = "protein" if detect_alphabet("".join(raw[:50])) == "protein" else "dna"
    return [normalize(s, alphabet, path=str(f), record=f.name) for s, f in zip(raw, files) if s]


def read_genomic_benchmarks(path: str | Path, seed: int = 0, validation_fraction: float = 0.1) -> Task:
    """A Genomic Benchmarks folder: ``train/`` and ``test/`` with one entry per class (see module doc)."""
    path = Path(path)
    loaded: dict[str, tuple[list[str], np.ndarray]] = {}
    names: list[str] | None = None
    for split in ("train", "test"):
        entries = _class_entries(path / split)
        split_names = [n for n, _ in entries]
        if names is not None and split_names != names:
            raise InputFormatError(f"test classes {split_names} differ from train classes {names}", path=path)
        names = split_names
        sequences, labels = [], []
        for label, (_, entry) in enumerate(entries):
            members = _class_sequences(entry)
            sequences += members
            labels += [label] * len(members)
        loaded[split] = (sequences, np.asarray(labels, dtype=np.int64))
    train_seqs, train_labels = loaded["train"]
    parts = stratified_split(train_labels, (1 - validation_fraction, validation_fraction, 0.0), seed)
    splits = {
        "train": TaskSplit([train_seqs[i] for i in parts["train"]], train_labels[parts["train"]]),
        "validation": TaskSplit([train_seqs[i] for i in parts["validation"]], train_labels[parts["validation"]]),
        "test": TaskSplit(*loaded["test"]),
    }
    alphabet = "protein" if detect_alphabet("".join(train_seqs[:50])) == "protein" else "dna"
    return Task(path.name, "classification", splits, names or [], alphabet)


def load_benchmark_task(path: str | Path, fmt: str | None = None, seed: int = 0) -> Task:
    """Any supported task folder; ``fmt`` one of gue, fasta, scl, genomic-benchmarks (default: detected)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"task folder {path} does not exist; check --data-dir and the task's 'path'")
    if fmt == "genomic-benchmarks" or (fmt is None and (path / "train").is_dir() and (path / "test").is_dir()):
        return read_genomic_benchmarks(path, seed)
    return load_task(path, fmt=fmt, seed=seed)  # type: ignore[arg-type]


def subset(split: TaskSplit, limit: int | None, seed: int) -> TaskSplit:
    """A seeded stratified subset of at most ``limit`` items (the split itself when it is small enough)."""
    if limit is None or len(split) <= limit:
        return split
    fraction = limit / len(split)
    keep = stratified_split(split.labels, (fraction, 1 - fraction, 0.0), seed)["train"]
    return TaskSplit([split.sequences[i] for i in keep], split.labels[keep])


@dataclass
class Leakage:
    """Test items whose exact sequence also occurs in train: their indices into the test split."""

    duplicate_indices: np.ndarray
    n_test: int

    @property
    def n_duplicates(self) -> int:
        return int(len(self.duplicate_indices))

    def keep_mask(self) -> np.ndarray:
        """Boolean (n_test,) mask of the de-duplicated test set."""
        mask = np.ones(self.n_test, dtype=bool)
        mask[self.duplicate_indices] = False
        return mask

    def as_dict(self) -> dict:
        return {"test_items": self.n_test, "exact_duplicates_of_train": self.n_duplicates,
                "test_items_after_dedup": self.n_test - self.n_duplicates}


def find_leakage(train: list[str], test: list[str]) -> Leakage:
    """Indices of ``test`` sequences that occur exactly (same normalized string) in ``train``."""
    seen = set(train)
    return Leakage(np.asarray([i for i, s in enumerate(test) if s in seen], dtype=np.int64), len(test))


def prepare_task(path: str | Path, fmt: str | None, split_seed: int, max_train: int | None,
                 max_test: int | None) -> Task:
    """Load a task and apply the seeded subsets of a suite's task spec (logs the sizes)."""
    task = load_benchmark_task(path, fmt, split_seed)
    for split, limit in (("train", max_train), ("test", max_test)):
        task.splits[split] = subset(task.splits[split], limit, split_seed)
    logger.info("task %s: %s", task.name, {s: len(task.splits[s]) for s in SPLITS})
    return task
