"""Zero-shot protein mutation scoring, with the field's rule for each model kind (named in the output).

* causal LM, ``log-likelihood-ratio``: ``score = LL(mutant) - LL(wild type)`` over the full sequence;
* masked LM, ``masked-marginal`` (default, ESM-1v / ProteinGym) or ``wildtype-marginal``: see
  :mod:`bioLM.scoring.masked`.

Mutations are written ``A23V``: wild-type residue, 1-based position in the wild-type sequence, new residue;
multi-mutants join them with ``:`` (``A23V:G45D``, the ProteinGym / DeepSequence convention). Every
mutation is checked against the wild type (residue and position) before any scoring. Log-likelihoods are
sums over all residues in nats under the causal LM (see :mod:`bioLM.scoring.likelihood`); a positive score
means the model finds the mutant more likely than the wild type. An empty mutation cell is an error (write
``WT`` for the wild type).
"""

from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np

from bioLM import metrics
from bioLM.alphabet import PROTEIN, normalize
from bioLM.errors import ConfigError, InputFormatError
from bioLM.io import read_fastx
from bioLM.io.atomic import atomic_write
from bioLM.model.loading import LoadedModel, load
from bioLM.scoring.likelihood import LikelihoodOptions, encode, log_likelihoods
from bioLM.scoring.masked import CAUSAL_RULE, marginal_scores, resolve_rule

logger = logging.getLogger(__name__)

_MUTATION = re.compile(r"^([A-Z*])(\d+)([A-Z*])$")
WILD_TYPE_NAMES = {"wt", "_wt", "wildtype", "wild_type"}


@dataclass(frozen=True)
class Mutation:
    """A substitution: ``wild_type`` residue at 1-based ``position`` replaced by ``mutant``."""

    wild_type: str
    position: int
    mutant: str

    def __str__(self) -> str:
        return f"{self.wild_type}{self.position}{self.mutant}"


def parse_mutations(text: str, wild_type: str, separator: str = ":") -> tuple[Mutation, ...]:
    """Parse ``"A23V:G45D"`` and check it against ``wild_type`` (positions 1-based).

    Raises ``ValueError`` with the reason (the caller adds file and line): malformed text, position outside
    the sequence, wild-type residue that disagrees, a letter outside the protein alphabet, a position given
    twice, an empty cell. ``"WT"`` or ``"_wt"`` mean the wild type (no mutation).
    """
    if not text.strip():
        raise ValueError("the mutation cell is empty; write a mutation such as A23V, or WT for the wild type")
    if text.strip().lower() in WILD_TYPE_NAMES:
        return ()
    mutations, seen = [], set()
    for part in text.strip().split(separator):
        match = _MUTATION.match(part.strip().upper())
        if match is None:
            raise ValueError(f"mutation {part!r} is not of the form A23V (wild-type residue, 1-based "
                             f"position, new residue; multi-mutants joined by {separator!r})")
        wt, position, mt = match[1], int(match[2]), match[3]
        if not 1 <= position <= len(wild_type):
            raise ValueError(f"mutation {part!r}: position {position} is outside the wild-type sequence "
                             f"(length {len(wild_type)}, positions are 1-based)")
        if wild_type[position - 1] != wt:
            raise ValueError(f"mutation {part!r}: the wild type has {wild_type[position - 1]!r} at position "
                             f"{position}, not {wt!r}; check the numbering (1-based) and the wild-type sequence")
        if mt not in PROTEIN.letters:
            raise ValueError(f"mutation {part!r}: {mt!r} is not an amino-acid letter ({PROTEIN.letters})")
        if position in seen:
            raise ValueError(f"mutation {text!r}: position {position} is mutated twice")
        seen.add(position)
        mutations.append(Mutation(wt, position, mt))
    return tuple(mutations)


def apply_mutations(wild_type: str, mutations: tuple[Mutation, ...]) -> str:
    """The mutant sequence (mutations already checked by :func:`parse_mutations`)."""
    residues = list(wild_type)
    for mutation in mutations:
        residues[mutation.position - 1] = mutation.mutant
    return "".join(residues)


def read_wild_type(fasta: str | Path) -> str:
    """The sequence of the first record of a (protein) FASTA file."""
    for record in read_fastx(fasta, alphabet="protein"):
        return record.sequence
    raise InputFormatError("no sequence found; give a FASTA with the wild-type sequence", path=fasta)


@dataclass
class MutationScoringConfig:
    """Options of :func:`score_mutations`."""

    mutation_column: str = "mutant"
    """CSV column with the mutations (A23V or A23V:G45D)."""
    score_column: str = "biolm_score"
    """Name of the appended score column (nats); a second column ``<score_column>_rule`` names the rule."""
    scoring: Literal["auto", "log-likelihood-ratio", "masked-marginal", "wildtype-marginal"] = "auto"
    """Scoring rule: ``auto`` (causal: log-likelihood-ratio; masked: masked-marginal), or ``wildtype-marginal``
    for a masked LM (one forward pass instead of one per mutated position)."""
    fitness_column: str | None = None
    """Measured fitness column: Spearman's rho against the scores is computed (rows without a value skipped)."""
    separator: str = ":"
    """Separator of multi-mutants."""
    max_tokens: int = 16384
    """Token budget per forward batch."""
    precision: str = "auto"
    """auto | bf16 | fp32 (see :mod:`bioLM.hardware`)."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N."""
    progress: bool = True
    """tqdm progress bar over batches."""
    max_listed: int = 10
    """Bad rows listed in an error message."""


@dataclass
class MutationScoringResult:
    """Rows scored, the output path, and Spearman's rho against the fitness column (when given)."""

    rows: int
    out: Path | None
    scores: list[float]
    spearman: float | None = None
    fitness_rows: int = 0
    scoring: str = CAUSAL_RULE


def _read_rows(path: Path, config: MutationScoringConfig) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise InputFormatError("mutations CSV not found", path=path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            wanted = [config.mutation_column] + ([config.fitness_column] if config.fitness_column else [])
            for column in wanted:
                if column not in columns:
                    raise InputFormatError(f"no column {column!r}; the columns are {columns}", path=path, line=1)
            return columns, list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise InputFormatError(f"cannot read the mutations CSV ({reason})", path=path) from None


def _parse_rows(rows: list[dict[str, str]], wild_type: str, path: Path, config: MutationScoringConfig
                ) -> list[str]:
    """Mutant sequences of every row; all bad rows (up to ``max_listed``) in one error."""
    sequences, problems = [], []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            sequences.append(apply_mutations(wild_type, parse_mutations(row[config.mutation_column] or "",
                                                                        wild_type, config.separator)))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    if problems:
        listed = "; ".join(problems[:config.max_listed])
        raise InputFormatError(f"{len(problems)} row(s) have mutations that do not fit the wild type: {listed}",
                               path=path)
    return sequences


def spearman(scores: list[float], fitness: list[str]) -> tuple[float | None, int]:
    """Spearman's rho (:func:`bioLM.metrics.spearman`) between ``scores`` and the numeric ``fitness`` values
    (empty/NaN rows skipped); None with fewer than 3 rows."""
    pairs = []
    for score, value in zip(scores, fitness):
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            pairs.append((score, number))
    if len(pairs) < 3:
        return None, len(pairs)
    return metrics.spearman(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])), len(pairs)


def _write_csv(out: Path, columns: list[str], rows: list[dict[str, str]], scores: list[float],
               score_column: str, rule: str) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns + [score_column, f"{score_column}_rule"])
            writer.writeheader()
            for row, score in zip(rows, scores):
                writer.writerow({**row, score_column: f"{score:.6g}", f"{score_column}_rule": rule})

    atomic_write(out, write)


def mutation_scores(loaded: LoadedModel, wild_type: str, sequences: list[str], rule: str,
                    config: MutationScoringConfig, names: list[str] | None = None) -> list[float]:
    """Score of each mutant sequence against ``wild_type`` under ``rule`` (see the module docstring)."""
    labels: dict[str, str] = {wild_type: "wild type"}
    for sequence, name in zip(sequences, names or [f"#{i + 1}" for i in range(len(sequences))]):
        labels.setdefault(sequence, name)
    distinct = list(labels)
    if rule == CAUSAL_RULE:
        options = LikelihoodOptions(max_tokens=config.max_tokens, precision=loaded.precision,
                                    progress=config.progress)
        sums, _ = log_likelihoods(loaded.model, loaded.tokenizer, distinct, options,
                                  names=[labels[s] for s in distinct])
        ll = dict(zip(distinct, sums.tolist()))
        return [ll[s] - ll[wild_type] for s in sequences]
    ids = encode(loaded.tokenizer, distinct, [labels[s] for s in distinct])
    by_sequence = dict(zip(distinct, ids))
    values = marginal_scores(loaded, by_sequence[wild_type], ids, rule, config.max_tokens)
    score = dict(zip(distinct, values.tolist()))
    return [score[s] for s in sequences]


def score_mutations(model_dir: str | Path, wild_type: str, mutations_csv: str | Path, out: str | Path | None,
                    config: MutationScoringConfig | None = None, **options) -> MutationScoringResult:
    """Score every row of ``mutations_csv`` and write it to ``out`` with the score column appended.

    ``wild_type`` is the protein sequence the 1-based positions refer to; ``options`` override fields of
    :class:`MutationScoringConfig`. Bad rows raise :class:`~bioLM.errors.InputFormatError` before scoring.
    """
    known = {f.name for f in fields(MutationScoringConfig)}
    if set(options) - known:
        raise ConfigError(f"unknown option(s) {sorted(set(options) - known)}; valid: {sorted(known)}")
    config = config or MutationScoringConfig(**options)
    path = Path(mutations_csv)
    wild_type = normalize(wild_type.strip(), "protein", record="wild type")
    columns, rows = _read_rows(path, config)
    if config.score_column in columns:
        raise ConfigError(f"{path} already has a column {config.score_column!r}; pick another --score-column")
    sequences = _parse_rows(rows, wild_type, path, config)
    loaded = load(model_dir, device=config.device, precision=config.precision)
    rule = resolve_rule(config.scoring, loaded.kind, "score-mutations")
    names = [f"{path.name} line {line}" for line in range(2, len(sequences) + 2)]
    scores = mutation_scores(loaded, wild_type, sequences, rule, config, names)
    result = MutationScoringResult(rows=len(rows), out=Path(out) if out else None, scores=scores, scoring=rule)
    if out:
        _write_csv(Path(out), columns, rows, scores, config.score_column, rule)
    if config.fitness_column:
        result.spearman, result.fitness_rows = spearman(scores, [r[config.fitness_column] for r in rows])
        logger.info("Spearman rho vs %s: %s over %d rows", config.fitness_column, result.spearman,
                    result.fitness_rows)
    return result
