"""Pretraining recipes: typed dataclasses, serialized as YAML in ``recipes/`` (no interpolation, no registries).

A recipe has four sections, ``data``, ``model``, ``optim`` and ``trainer``. ``Recipe.from_yaml(path, overrides)``
reads one; overrides are ``"section.key=value"`` strings whose value is parsed as YAML (``optim.lr=1e-3``,
``data.inputs=[a.fa,b.fa]``). A key that does not exist raises :class:`~bioLM.errors.ConfigError` naming the
key and the valid ones.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from bioLM.errors import ConfigError


@dataclass
class DataConfig:
    """Where the corpus comes from, how it is tokenized and how batches are drawn."""

    inputs: list[str] = field(default_factory=list)
    """FASTA/FASTQ files or directories of them (plain, gzip or bgzip). Empty: use ``dataset_dir`` as is."""
    demo_corpus: bool = False
    """With no ``inputs`` and no prepared dataset, train on ``bioLM.synthetic.demo_corpus`` (written to
    ``<trainer.out_dir>/demo_corpus.fa``)."""
    tokenizer: str = "char"
    """Tokenizer kind (``char``, ``kmer``, ``bpe``) or a directory holding a saved tokenizer."""
    alphabet: Literal["dna", "rna", "protein"] = "dna"
    """Alphabet of the sequences (``protein`` for amino acids)."""
    k: int = 6
    """k-mer length (``kmer`` tokenizers)."""
    stride: int | None = None
    """k-mer stride (``None``: k, non-overlapping)."""
    vocab_size: int = 4096
    """Vocabulary size of a trained ``bpe`` tokenizer."""
    dataset_dir: str | None = None
    """Prepared token shards (default: ``<trainer.out_dir>/dataset``); prepared when missing or stale."""
    val_fraction: float = 0.1
    """Fraction of the bases held out for validation (whole records, or the tail of every record)."""
    split_by: Literal["auto", "record", "region"] = "auto"
    """Validation: whole records (``record``), the tail of every record (``region``), or ``auto`` (whole
    records when they make up ``val_fraction`` within 20%, else the tail of every record)."""
    window_bases: int = 1_000_000
    """Long records are cut into windows of this many bases before tokenization."""
    n_run_threshold: int = 100
    """Runs of N at least this long split a sequence instead of being tokenized."""
    soft_mask: bool = False
    """Keep the soft-mask (lower-case bases) as a parallel array of the shards."""
    replace_invalid: bool = False
    """Replace letters outside the alphabet by N (DNA/RNA) or X (protein) instead of failing."""
    soft_mask_weight: float = 1.0
    """Loss weight of tokens on soft-masked (repeat) bases; 1.0 disables down-weighting."""
    rc_augment: bool = False
    """Reverse-complement half of the training windows on the fly (DNA, ``char`` tokenizer only)."""
    micro_batch_size: int = 8
    """Windows per micro-batch on each device."""
    num_workers: int = 0
    """DataLoader worker processes."""


@dataclass
class ModelConfig:
    """The GPT: a preset from ``bioLM.model.presets`` plus field overrides."""

    preset: str = "tiny"
    """Preset name passed to ``config_from_preset``."""
    context_length: int = 256
    """Tokens per training window (the model's ``max_position_embeddings`` covers it)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """``BioLMConfig`` fields to override on the preset (``hidden_size``, ``num_hidden_layers``, ...)."""


@dataclass
class OptimConfig:
    """AdamW with linear warmup then cosine decay."""

    lr: float = 1e-3
    """Peak learning rate."""
    min_lr_ratio: float = 0.1
    """Final learning rate as a fraction of ``lr``."""
    warmup_steps: int = 50
    """Optimizer steps of linear warmup."""
    weight_decay: float = 0.1
    """Decoupled weight decay (not applied to norms, biases or embeddings)."""
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    """AdamW betas."""
    eps: float = 1e-8
    """AdamW epsilon."""
    grad_clip: float = 1.0
    """Gradient norm clipping (0: off)."""


@dataclass
class TrainerConfig:
    """Lightning Trainer settings, run folder, checkpoints and logging."""

    out_dir: str = "runs/run"
    """Run folder: dataset (by default), tokenizer, checkpoints, logs, learning curve and exported model."""
    max_steps: int = 500
    """Optimizer steps."""
    accumulate_grad_batches: int = 1
    """Micro-batches per optimizer step."""
    precision: str = "auto"
    """Lightning precision (``bf16-mixed``, ``32-true``, ``16-mixed``), or ``auto``: bf16-mixed where the
    hardware runs bf16 natively (CUDA, AMX / AVX512-BF16 CPUs), else 32-true (see :mod:`bioLM.hardware`)."""
    accelerator: str = "auto"
    """``cpu``, ``gpu``, ``auto``."""
    devices: int | str = 1
    """Devices per node."""
    num_nodes: int = 1
    """Nodes (multi-node through torchrun or SLURM)."""
    strategy: str = "auto"
    """``auto``, ``ddp``, ``fsdp``, ``ddp_spawn``."""
    seed: int = 0
    """Seed of the model initialization and of the data order."""
    val_every: int = 100
    """Validate every this many optimizer steps (and at the end)."""
    val_max_windows: int | None = None
    """Cap on validation windows (``None``: all validation tokens)."""
    checkpoint_every: int = 100
    """Save ``last.ckpt`` every this many optimizer steps (and at the end)."""
    log_every: int = 10
    """Log training metrics every this many optimizer steps."""
    compile: bool = False
    """``torch.compile`` the model."""
    peak_tflops: float | None = None
    """Peak TFLOP/s for MFU (``None``: measured with a quick matmul)."""
    export: bool = True
    """Export a Hugging Face model directory at the end of training."""
    progress_bar: bool = True
    """Show training progress: one status line on a terminal (step/max_steps, loss, bits per base, tokens/s,
    ETA), a plain line every ``log_every`` steps when stderr is not a terminal."""
    loggers: list[str] = field(default_factory=lambda: ["csv"])
    """Metric loggers: ``csv`` (``logs/metrics.csv``, read by the learning curve) and ``tensorboard``
    (``tensorboard/``; needs ``pip install 'biolm[tensorboard]'``)."""


@dataclass
class Recipe:
    """A whole pretraining run."""

    name: str = "run"
    """Name of the recipe (written into the model card)."""
    data: DataConfig = field(default_factory=DataConfig)
    """Corpus and batches."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Model preset."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimizer and schedule."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """Trainer, checkpoints, logging."""
    resume: bool = False
    """Continue from ``<out_dir>/checkpoints/last.ckpt`` when it exists."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Build a recipe from nested dicts; unknown keys and values out of range raise ConfigError."""
        recipe = _build(cls, data, "")
        recipe.validate()
        return recipe

    def validate(self, source: str = "recipe") -> None:
        """Check every value against its range (:data:`RANGES`), so a bad value fails before any work;
        ``source`` names the recipe in the message."""
        for key, valid, rule in RANGES:
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            if value is not None and not valid(value):
                raise ConfigError(f"{source}: key {key} = {value!r} is out of range: it must be {rule}")

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | None = None) -> Recipe:
        """Read a YAML recipe and apply ``section.key=value`` overrides."""
        path = Path(path)
        data = read_yaml_mapping(path, "recipe")
        data.setdefault("name", path.stem)
        recipe = _build(cls, apply_overrides(data, overrides or []), "")
        recipe.validate(f"recipe {path}" + (" with overrides" if overrides else ""))
        return recipe

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML/JSON serializable)."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """The recipe as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def read_yaml_mapping(path: Path, what: str, hint: str = "") -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (a ``what``: recipe, suite); ConfigError naming the file (and line)
    when it is missing, unreadable, binary, not YAML or not a mapping."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist{hint}")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{what} {path} cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{what} {path}, line {line}: binary data, not a YAML text file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{what} {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must be a mapping of keys, got {type(data).__name__}")
    return data


RANGES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("data.val_fraction", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("data.window_bases", lambda v: v >= 1, ">= 1"),
    ("data.n_run_threshold", lambda v: v >= 1, ">= 1"),
    ("data.soft_mask_weight", lambda v: 0 <= v <= 1, "in [0, 1]"),
    ("data.micro_batch_size", lambda v: v >= 1, ">= 1"),
    ("data.num_workers", lambda v: v >= 0, ">= 0"),
    ("data.k", lambda v: 1 <= v <= 8, "in 1..8"),
    ("data.vocab_size", lambda v: v >= 1, ">= 1"),
    ("model.context_length", lambda v: v >= 2, ">= 2"),
    ("optim.lr", lambda v: 0 < v < float("inf"), "a positive finite number (e.g. 1e-3)"),
    ("optim.min_lr_ratio", lambda v: 0 <= v <= 1, "in [0, 1]"),
    ("optim.warmup_steps", lambda v: v >= 0, ">= 0"),
    ("optim.weight_decay", lambda v: 0 <= v < float("inf"), ">= 0"),
    ("optim.betas", lambda v: len(v) == 2 and all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    ("optim.eps", lambda v: 0 < v < float("inf"), "> 0"),
    ("optim.grad_clip", lambda v: 0 <= v < float("inf"), ">= 0 (0: off)"),
    ("trainer.max_steps", lambda v: v >= 1, ">= 1"),
    ("trainer.accumulate_grad_batches", lambda v: v >= 1, ">= 1"),
    ("trainer.num_nodes", lambda v: v >= 1, ">= 1"),
    ("trainer.val_every", lambda v: v >= 1, ">= 1"),
    ("trainer.val_max_windows", lambda v: v >= 1, ">= 1 (or null: all)"),
    ("trainer.checkpoint_every", lambda v: v >= 1, ">= 1"),
    ("trainer.log_every", lambda v: v >= 1, ">= 1"),
    ("trainer.peak_tflops", lambda v: v > 0, "> 0 (or null: measured)"),
]
"""(key, check, rule) of the recipe values with a range; :meth:`Recipe.validate` applies them."""


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``"a.b=value"`` overrides applied (value parsed as YAML)."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value, e.g. optim.lr=1e-3")
        key, _, text = item.partition("=")
        try:
            value = yaml.safe_load(text) if text != "" else ""
        except yaml.YAMLError:
            value = text
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"recipe section {prefix.rstrip('.') or 'root'!r} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in valid:
            raise ConfigError(f"unknown recipe key {prefix + str(key)!r}; valid keys"
                              f"{' in ' + prefix.rstrip('.') if prefix else ''}: {', '.join(valid)}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, prefix + key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check/convert a scalar against its annotation (int -> float allowed, Literal checked)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"recipe key {key!r} = {value!r} is not one of {list(args)}")
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"recipe key {key!r}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, list):
            value = [value]
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"recipe key {key!r} must be a mapping, got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hint is Any:
        return value
    raise ConfigError(f"recipe key {key!r} must be {getattr(hint, '__name__', hint)}, got {value!r}")
