"""Task specs for fine-tuning: labelled sequences split into train / validation / test.

Formats (``load_task`` detects them from a directory's content, or takes ``fmt``):

* ``gue``: ``train.csv``, ``dev.csv`` (validation), ``test.csv`` with header ``sequence,label`` (the GUE
  benchmark of DNABERT-2). Integer labels: classification; any non-integer label: regression.
* ``fasta``: one FASTA file per class in a directory (class name = file name without extension, classes in
  sorted order); split by a seeded stratified split (default 80/10/10).
* ``scl``: SCL2205-style ``*.csv`` (columns ``entry,seq,scl``; ``scl`` an integer class) + ``splits.json``
  (``trn``, ``evl``, ``tst``: lists of 0-based row indices) + optional ``labels.json``
  (``index_to_label``).
* ``genomic-benchmarks`` (detected when a ``train/`` and a ``test/`` folder exist): ``train/`` and ``test/``
  each hold one entry per class, either a folder of ``*.txt`` files with one sequence each (the published
  layout) or one FASTA file per class. Classes are the sorted entry names; the validation split is a seeded
  stratified 10% of ``train`` (:func:`load_benchmark_task`).

Benchmarks also use :func:`subset` (seeded subsets) and :func:`find_leakage` (exact duplicate sequences
between train and test); :func:`prepare_task` does all three. One module reads every task format.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bioLM.alphabet import detect_alphabet, normalize
from bioLM.errors import ConfigError, InputFormatError
from bioLM.io import read_fastx
from bioLM.io.seqfile import sequence_file_stem

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
TaskFormat = Literal["gue", "fasta", "scl"]


@dataclass
class TaskSplit:
    """Sequences (normalized, upper-case) and their labels: int64 class indices or float64 targets."""

    sequences: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.sequences)


@dataclass
class Task:
    """A labelled task: ``splits`` holds 'train', 'validation' and 'test'."""

    name: str
    kind: Literal["classification", "regression"]
    splits: dict[str, TaskSplit]
    label_names: list[str] = field(default_factory=list)
    alphabet: str = "dna"

    @property
    def num_labels(self) -> int:
        """Classes for classification, 1 for regression."""
        return 1 if self.kind == "regression" else len(self.label_names)


def detect_format(path: Path) -> TaskFormat:
    """The task format of directory ``path`` from the files it holds."""
    if not path.is_dir():
        raise ConfigError(f"task {path} is not a directory; give a GUE folder (train/dev/test.csv), a folder "
                          "of one FASTA per class, or an SCL2205 folder (CSV + splits.json)")
    names = {p.name for p in path.iterdir()}
    if {"train.csv", "dev.csv", "test.csv"} <= names:
        return "gue"
    if "splits.json" in names and any(n.endswith(".csv") for n in names):
        return "scl"
    if sum(sequence_file_stem(n) is not None for n in names) >= 2:
        return "fasta"
    raise ConfigError(f"cannot tell the task format of {path} (found {sorted(names)[:8]}); expected "
                      "train.csv+dev.csv+test.csv (GUE), >= 2 FASTA files (one per class), or a CSV + "
                      "splits.json (SCL2205)")


def _alphabet_of(sequences: list[str]) -> str:
    sample = "".join(sequences[:50])
    return "protein" if detect_alphabet(sample) == "protein" else "dna"


def _normalized(sequences: list[str], alphabet: str, path: Path, lines: list[int]) -> list[str]:
    return [normalize(s, alphabet, path=str(path), record=f"line {line}") for s, line in zip(sequences, lines)]


def _read_gue_csv(path: Path) -> tuple[list[str], list[str], list[int]]:
    if not path.is_file():
        raise InputFormatError("GUE split file not found (a GUE task folder holds train.csv, dev.csv, test.csv)",
                               path=path)
    sequences, labels, lines = [], [], []
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["sequence", "label"]:
            raise InputFormatError(f"expected the header 'sequence,label', found {header}", path=path, line=1)
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 2 or not row[0].strip():
                raise InputFormatError(f"expected 2 columns 'sequence,label', found {row[:3]}", path=path,
                                       line=line)
            sequences.append(row[0].strip())
            labels.append(row[1].strip())
            lines.append(line)
    return sequences, labels, lines


def _as_labels(raw: list[str], path: Path, lines: list[int]) -> np.ndarray:
    values = []
    for value, line in zip(raw, lines):
        try:
            values.append(float(value))
        except ValueError:
            raise InputFormatError(f"label {value!r} is not a number", path=path, line=line) from None
    return np.asarray(values, dtype=np.float64)


def read_gue(path: str | Path) -> Task:
    """A GUE task folder (``train.csv``, ``dev.csv``, ``test.csv``; header ``sequence,label``)."""
    path = Path(path)
    raw = {split: _read_gue_csv(path / f"{name}.csv")
           for split, name in zip(SPLITS, ("train", "dev", "test"))}
    alphabet = _alphabet_of(raw["train"][0])
    labels = {split: _as_labels(r[1], path / f"{name}.csv", r[2])
              for (split, r), name in zip(raw.items(), ("train", "dev", "test"))}
    integer = all(np.all(v == np.round(v)) for v in labels.values())
    splits = {}
    for split, name in zip(SPLITS, ("train", "dev", "test")):
        sequences = _normalized(raw[split][0], alphabet, path / f"{name}.csv", raw[split][2])
        values = labels[split].astype(np.int64) if integer else labels[split]
        splits[split] = TaskSplit(sequences, values)
    if not integer:
        return Task(path.name, "regression", splits, [], alphabet)
    n_classes = int(max(v.max(initial=0) for v in labels.values())) + 1
    return Task(path.name, "classification", splits, [str(i) for i in range(n_classes)], alphabet)


def stratified_split(labels: np.ndarray, fractions: tuple[float, float, float], seed: int
                     ) -> dict[str, np.ndarray]:
    """Indices of a seeded stratified train/validation/test split (each class split by ``fractions``)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ConfigError(f"fractions={fractions} must be 3 non-negative numbers summing to 1")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(fractions[0] * len(members)))
        n_val = int(round(fractions[1] * len(members)))
        for split, chunk in zip(SPLITS, np.split(members, [n_train, n_train + n_val])):
            parts[split].append(chunk)
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def class_fasta_sequences(file: Path) -> list[str]:
    """Sequences of a class FASTA (ids may repeat across published class files; empty records are kept
    out of the task, with the reader's warning)."""
    records = read_fastx(file, allow_duplicate_ids=True)
    return [record.sequence for record in records if record.sequence]


def read_fasta_classes(path: str | Path, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                       ) -> Task:
    """A folder with one FASTA per class (class = file name without extension), split stratified by ``seed``."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if sequence_file_stem(p.name) is not None)
    names = [sequence_file_stem(p.name) for p in files]
    sequences, labels = [], []
    for label, file in enumerate(files):
        records = class_fasta_sequences(file)
        if not records:
            raise InputFormatError("no sequences: every class file needs at least one record", path=file)
        sequences += records
        labels += [label] * len(records)
    labels_array = np.asarray(labels, dtype=np.int64)
    indices = stratified_split(labels_array, fractions, seed)
    splits = {s: TaskSplit([sequences[i] for i in idx], labels_array[idx]) for s, idx in indices.items()}
    return Task(path.name, "classification", splits, names, _alphabet_of(sequences))


def read_scl(path: str | Path) -> Task:
    """An SCL2205-style folder: ``<name>.csv`` (entry,seq,scl) + ``splits.json`` (trn/evl/tst row indices)."""
    path = Path(path)
    tables = sorted(path.glob("*.csv"))
    if not tables or not (path / "splits.json").is_file():
        raise InputFormatError("an SCL task folder needs a CSV (entry,seq,scl) and splits.json", path=path)
    table = tables[0]
    sequences, labels = [], []
    with open(table, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"seq", "scl"} - set(reader.fieldnames or [])
        if missing:
            raise InputFormatError(f"missing column(s) {sorted(missing)}; found {reader.fieldnames}", path=table,
                                   line=1)
        for line, row in enumerate(reader, start=2):
            try:
                labels.append(int(row["scl"]))
            except ValueError:
                raise InputFormatError(f"scl label {row['scl']!r} is not an integer class", path=table,
                                       line=line) from None
            sequences.append(normalize(row["seq"], "protein", path=str(table), record=f"line {line}"))
    splits_json = json.loads((path / "splits.json").read_text())
    labels_array = np.asarray(labels, dtype=np.int64)
    splits = {}
    for split, key in zip(SPLITS, ("trn", "evl", "tst")):
        if key not in splits_json:
            raise InputFormatError(f"no {key!r} list (keys: {sorted(splits_json)})", path=path / "splits.json")
        idx = np.asarray(splits_json[key], dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(sequences)):
            raise InputFormatError(f"{key!r} holds row index {int(idx.max())} but {table.name} has "
                                   f"{len(sequences)} rows", path=path / "splits.json")
        splits[split] = TaskSplit([sequences[i] for i in idx], labels_array[idx])
    n_classes = int(labels_array.max(initial=0)) + 1
    names = [str(i) for i in range(n_classes)]
    if (path / "labels.json").is_file():
        index_to_label = json.loads((path / "labels.json").read_text()).get("index_to_label", {})
        names = [index_to_label.get(str(i), str(i)) for i in range(n_classes)]
    return Task(path.name, "classification", splits, names, "protein")


SPLIT_FILES = {"gue": {"validation": "dev.csv", "test": "test.csv"}, "scl": {"validation": "splits.json",
                                                                          "test": "splits.json"}}


def _check_labels_seen(task: Task, path: Path, fmt: str) -> None:
    """A validation or test label that no training sequence has would become a class the model never learns."""
    seen = set(np.unique(task.splits["train"].labels).tolist())
    for split in ("validation", "test"):
        labels = task.splits[split].labels
        unseen = sorted(set(np.unique(labels).tolist()) - seen)
        if unseen:
            first = int(np.flatnonzero(np.isin(labels, unseen))[0])
            where = path / SPLIT_FILES[fmt][split] if fmt in SPLIT_FILES else path
            line = _read_gue_csv(where)[2][first] if fmt == "gue" else None
            name = task.label_names[unseen[0]] if unseen[0] < len(task.label_names) else unseen[0]
            raise InputFormatError(
                f"{split} label {name!r} never occurs in the training split (training labels: "
                f"{sorted(task.label_names[i] for i in seen)}); a class must have training examples: fix the "
                f"labels or move examples of it into the training split", path=where, line=line,
                record=None if fmt == "gue" else f"{split} #{first + 1}")


def load_task(spec: str | Path, fmt: TaskFormat | None = None, seed: int = 0,
              fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> Task:
    """Read the task folder ``spec`` (format detected unless ``fmt``); logs the split sizes."""
    path = Path(spec)
    fmt = fmt or detect_format(path)
    if fmt == "gue":
        task = read_gue(path)
    elif fmt == "fasta":
        task = read_fasta_classes(path, seed, fractions)
    elif fmt == "scl":
        task = read_scl(path)
    else:
        raise ConfigError(f"task format {fmt!r} is not one of 'gue', 'fasta', 'scl'")
    for split in SPLITS:
        if len(task.splits[split]) == 0:
            raise InputFormatError(f"the {split} split is empty", path=path)
    if task.kind == "classification":
        _check_labels_seen(task, path, fmt)
    logger.info("task %s (%s, %s): %s", task.name, fmt, task.kind,
                {s: len(task.splits[s]) for s in SPLITS})
    return task



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
