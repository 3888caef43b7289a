"""A benchmark suite: which model, which tasks, which evaluators and baselines, which seeds.

Read from YAML (``Suite.from_yaml``); unknown keys raise :class:`~bioLM.errors.ConfigError` naming the
file and the key. Task paths are relative to ``--data-dir``; the model directory and the recipe are
relative to the suite file's folder (or absolute)::

    name: dna-small
    model: {recipe: ../../recipes/dna-char-tiny.yaml, inputs: [dna/lambda_phage.fasta],
            overrides: [trainer.max_steps=100]}
    tasks:
      - {name: ecoli-promoters, path: tasks/dna/promoters_ecoli, max_train: 2000}
    evaluators: [embedding-lr]
    baselines: [kmer-4, kmer-6, cnn]
    seeds: [0, 1]
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bioLM.errors import ConfigError

EVALUATORS = ("embedding-lr", "extractive-lr", "abstractive-lr", "finetune", "finetune-lora", "scratch")
FINETUNED = ("finetune", "finetune-lora")
"""Evaluators whose difference from ``scratch`` is the pretraining gain."""
BASELINES = ("kmer-4", "kmer-6", "cnn", "aa-composition")
TaskType = Literal["classification", "mutations", "compression"]


@dataclass
class ModelSpec:
    """The model under test: an exported directory, or a pretraining recipe run first."""

    path: str | None = None
    """Exported model directory (weights + tokenizer)."""
    recipe: str | None = None
    """Pretraining recipe YAML (see ``recipes/``), run before the tasks when ``path`` is not given."""
    inputs: list[str] = field(default_factory=list)
    """FASTA files (relative to the data directory) that the recipe pretrains on."""
    overrides: list[str] = field(default_factory=list)
    """``section.key=value`` recipe overrides (e.g. ``trainer.max_steps=100``)."""


@dataclass
class Budget:
    """Training budget shared by every trained evaluator and baseline (heads, CNN, fine-tuning)."""

    epochs: int = 5
    """Epochs of the CNN, of the summarizer heads and (at most) of fine-tuning."""
    batch_size: int = 64
    """Sequences per batch."""
    learning_rate: float = 1e-3
    """Learning rate of the CNN and the heads (fine-tuning uses ``finetune_learning_rate``)."""
    finetune_learning_rate: float = 1e-4
    """AdamW learning rate of fine-tuning (``finetune``, ``finetune-lora`` and ``scratch`` alike)."""
    finetune_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    """Fine-tuning learning rate after the warmup: constant or decayed to 0 over ``epochs`` (linear, cosine)."""
    warmup_fraction: float = 0.1
    """Fraction of the fine-tuning steps with a linear warmup."""
    patience: int = 3
    """Fine-tuning: epochs without a better validation loss before stopping (the best epoch is kept)."""


@dataclass
class TaskSpec:
    """One task. ``type`` classification: a task folder (GUE / FASTA per class / SCL2205 / Genomic
    Benchmarks); mutations: a mutation CSV scored zero-shot; compression: FASTA ``files``."""

    name: str
    """Name in the report."""
    type: TaskType = "classification"
    """classification, mutations or compression."""
    path: str | None = None
    """Task folder (classification) or mutation CSV (mutations), relative to the data directory."""
    format: str | None = None
    """Classification format: gue, fasta, scl, genomic-benchmarks (default: detected)."""
    split_seed: int = 0
    """Seed of the stratified split of FASTA-per-class tasks (fixed across evaluation seeds)."""
    max_train: int | None = None
    """Use at most this many training sequences (seeded stratified subset); None: all."""
    max_test: int | None = None
    """Use at most this many test sequences (seeded stratified subset); None: all."""
    wild_type: str | None = None
    """Mutations: FASTA with the wild-type protein (relative to the data directory)."""
    fitness_column: str | None = None
    """Mutations: the measured fitness column."""
    mutation_column: str = "mutant"
    """Mutations: the column holding A23V / A23V:G45D."""
    files: list[str] = field(default_factory=list)
    """Compression: FASTA files (relative to the data directory)."""
    max_letters: int | None = None
    """Compression: code only the first records up to this many letters per file (None: whole file)."""


@dataclass
class PublishedNumber:
    """A number from a paper, shown apart from measured rows ("published, different compute")."""

    task: str
    method: str
    metric: str
    value: float
    source: str = ""


@dataclass
class Suite:
    """A whole benchmark: model, tasks, evaluators, baselines, seeds."""

    name: str = "suite"
    model: ModelSpec = field(default_factory=ModelSpec)
    tasks: list[TaskSpec] = field(default_factory=list)
    evaluators: list[str] = field(default_factory=lambda: ["embedding-lr"])
    baselines: list[str] = field(default_factory=lambda: ["kmer-4", "kmer-6", "cnn"])
    seeds: list[int] = field(default_factory=lambda: [0])
    budget: Budget = field(default_factory=Budget)
    bootstrap: int = 1000
    """Bootstrap replicates of every confidence interval."""
    embed_max_tokens: int = 16384
    """Token budget of one embedding batch."""
    window_overlap: int = 64
    """Overlap (tokens) of the context-sized windows that longer sequences are embedded in (averaged over the
    overlaps); at most a quarter of the model's context."""
    probe_layers: list[int] | str = field(default_factory=lambda: [-1])
    """Layers whose mean-pooled embeddings ``embedding-lr`` concatenates (ints, negative allowed, or ``all``:
    the embedding output and every block)."""
    probe_select: Literal["concat", "validation"] = "concat"
    """Several ``probe_layers``: ``concat`` puts them side by side in one probe; ``validation`` fits one probe per
    layer and keeps the layer with the best validation MCC (the test split is never used to choose)."""
    rc_average: bool = False
    """DNA: average each sequence with its reverse complement (mean-pooled embeddings of ``embedding-lr``,
    logits of the fine-tuned evaluators); protein tasks ignore it."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N: where the model under test runs."""
    precision: str = "auto"
    """auto | bf16 | fp32: forward passes under bf16 autocast where the hardware runs it natively (auto)."""
    threads: int | None = None
    """torch CPU threads for the run (1 is fastest for small models on a busy 2-core machine); None: default."""
    published: list[PublishedNumber] = field(default_factory=list)
    base_dir: str = "."
    """Folder that ``model.path`` and ``model.recipe`` are relative to (set to the suite file's folder)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "suite") -> Suite:
        """Build and check a suite from plain dicts; ``source`` names the file in error messages."""
        suite = _build(cls, data, "", source)
        suite.check(source)
        return suite

    @classmethod
    def from_yaml(cls, path: str | Path, model: str | Path | None = None) -> Suite:
        """Read a suite YAML file; ``model`` (a model directory) replaces the suite's ``model`` section, which
        then need not exist."""
        from bioLM.training.recipe import read_yaml_mapping

        path = Path(path)
        data = read_yaml_mapping(path, "suite", "; see benchmarks/suites/ for examples")
        if model is not None:
            data["model"] = {"path": str(Path(model).resolve())}
        data.setdefault("name", path.stem)
        data.setdefault("base_dir", str(path.resolve().parent))
        return cls.from_dict(data, str(path))

    def check(self, source: str) -> None:
        """Raise ConfigError for unknown evaluators/baselines, missing model, bad tasks or seeds."""
        for key, valid in (("evaluators", EVALUATORS), ("baselines", BASELINES)):
            for name in getattr(self, key):
                if name not in valid:
                    raise ConfigError(f"{source}: unknown {key[:-1]} {name!r}; valid: {', '.join(valid)}")
        needs_model = bool(self.evaluators) or any(t.type != "classification" for t in self.tasks)
        if needs_model and not (self.model.path or self.model.recipe):
            raise ConfigError(f"{source}: 'model' needs 'path' (an exported model directory) or 'recipe' "
                              "(a pretraining recipe to run first)")
        if self.model.recipe and not self.model.path and not self.model.inputs:
            raise ConfigError(f"{source}: model.recipe needs model.inputs (FASTA files to pretrain on)")
        if not self.seeds:
            raise ConfigError(f"{source}: 'seeds' must list at least one seed, e.g. seeds: [0, 1, 2]")
        layers = self.probe_layers
        if layers != "all" and not (isinstance(layers, list) and layers and all(type(x) is int for x in layers)):
            raise ConfigError(f"{source}: probe_layers={layers!r}: give a list of layer indices (e.g. [-1, -2]) "
                              "or 'all'")
        for key in ("bootstrap", "embed_max_tokens", "threads"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"{source}: {key}={value} must be >= 1")
        if self.window_overlap < 0:
            raise ConfigError(f"{source}: window_overlap={self.window_overlap} must be >= 0")
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ConfigError(f"{source}: task names must be unique, got {names}")
        for task in self.tasks:
            if task.type in ("classification", "mutations") and not task.path:
                raise ConfigError(f"{source}: task {task.name!r} ({task.type}) needs 'path'")
            if task.type == "mutations" and not (task.wild_type and task.fitness_column):
                raise ConfigError(f"{source}: mutations task {task.name!r} needs 'wild_type' and 'fitness_column'")
            if task.type == "compression" and not task.files:
                raise ConfigError(f"{source}: compression task {task.name!r} needs 'files'")

    def resolve(self, relative: str) -> Path:
        """``relative`` (model path / recipe) against the suite file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    where = prefix.rstrip(".") or "top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in valid:
            raise ConfigError(f"{source}: unknown key {prefix + str(key)!r} in {where}; valid keys: "
                              f"{', '.join(valid)}")
        kwargs[key] = _value(value, hints[key], f"{prefix}{key}", source)
    missing = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in kwargs]
    if missing:
        raise ConfigError(f"{source}: {where} is missing {', '.join(map(repr, missing))}")
    return cls(**kwargs)


def _value(value: Any, hint: Any, key: str, source: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value or {}, f"{key}.", source)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        return [_value(v, args[0], f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{source}: {key} = {value!r} is not one of {list(args)}")
        return value
    if args and type(None) in args:
        return None if value is None else _value(value, next(a for a in args if a is not type(None)), key,
                                                 source)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: {key} = {value!r} must be of type {hint.__name__}")
    return value
