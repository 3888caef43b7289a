"""Genomic intervals: the :class:`Region` type and BED / GFF3 readers.

Every :class:`Region` is 0-based half-open (``start`` inclusive, ``end`` exclusive), like BED. GFF3
columns 4-5 are 1-based inclusive and are converted on reading (``start = gff_start - 1``, ``end = gff_end``).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from bioLM.errors import InputFormatError

_STRANDS = {"+": "+", "-": "-", ".": "+", "?": "+"}


@dataclass(frozen=True)
class Region:
    """A 0-based half-open interval ``[start, end)`` on ``contig``; ``strand`` '+' or '-'."""

    contig: str
    start: int
    end: int
    strand: str = "+"
    name: str | None = None
    score: float | None = None
    line: int | None = field(default=None, compare=False, repr=False)
    """1-based line of the BED/GFF3 file it was read from (error messages only; not part of equality)."""

    def __len__(self) -> int:
        return self.end - self.start


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) of a text file (gzip allowed), skipping blanks."""
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rt") if gzipped else open(path) as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield number, line
    except FileNotFoundError:
        raise InputFormatError("no such file", path=path) from None
    except (UnicodeDecodeError, EOFError, OSError) as error:
        raise InputFormatError(f"not a readable text file ({error})", path=path) from None


def _integer(text: str, column: str, path: Path, line: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputFormatError(f"{column} column is {text!r}, expected an integer", path=path,
                               line=line) from None


def _score(text: str, path: Path, line: int) -> float | None:
    if text in (".", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise InputFormatError(f"score column is {text!r}, expected a number or '.'", path=path,
                               line=line) from None


def _strand(text: str, path: Path, line: int) -> str:
    if text not in _STRANDS:
        raise InputFormatError(f"strand column is {text!r}, expected '+', '-' or '.'", path=path, line=line)
    return _STRANDS[text]


def _check_span(start: int, end: int, path: Path, line: int, rule: str) -> None:
    if start < 0 or end < start:
        raise InputFormatError(f"interval start={start} end={end} is invalid ({rule})", path=path, line=line)


def read_bed(path: str | Path) -> list[Region]:
    """Read a BED file (3 to 6 columns used: chrom, start, end, name, score, strand; extra columns such
    as BED12 blocks are ignored). BED is 0-based half-open, as :class:`Region`. Header lines ('#',
    'track', 'browser') and blank lines are skipped. Errors name the line."""
    path = Path(path)
    regions = []
    for line, text in _lines(path):
        if text.startswith(("#", "track", "browser")):
            continue
        fields = text.split("\t") if "\t" in text else text.split()
        if len(fields) < 3:
            raise InputFormatError(f"BED line has {len(fields)} column(s), expected at least 3 "
                                   "(chrom, start, end), tab-separated", path=path, line=line)
        start = _integer(fields[1], "start (2nd)", path, line)
        end = _integer(fields[2], "end (3rd)", path, line)
        _check_span(start, end, path, line, "BED needs 0 <= start <= end, 0-based half-open")
        name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else None
        score = _score(fields[4], path, line) if len(fields) > 4 else None
        strand = _strand(fields[5], path, line) if len(fields) > 5 else "+"
        regions.append(Region(fields[0], start, end, strand, name, score, line))
    return regions


def _gff_name(attributes: str) -> str | None:
    pairs = dict(item.split("=", 1) for item in attributes.split(";") if "=" in item)
    for key in ("ID", "Name"):
        if key in pairs:
            return unquote(pairs[key])
    return None


def gff3_rows(path: Path, wanted: set[str] | None = None) -> Iterator[tuple[int, list[str], int, int]]:
    """``(line, columns, start, end)`` of every GFF3 feature line of ``path`` whose type is in ``wanted`` (None:
    all); ``start``/``end`` 0-based half-open. Skips comments, stops at ``##FASTA``; errors name the line."""
    for line, text in _lines(path):
        if text.startswith("##FASTA"):
            break
        if text.startswith("#"):
            continue
        fields = text.split("\t")
        if len(fields) != 9:
            raise InputFormatError(f"GFF3 line has {len(fields)} tab-separated column(s), expected 9",
                                   path=path, line=line)
        if wanted is not None and fields[2] not in wanted:
            continue
        start = _integer(fields[3], "start (4th)", path, line) - 1
        end = _integer(fields[4], "end (5th)", path, line)
        _check_span(start, end, path, line, "GFF3 needs 1 <= start <= end, 1-based inclusive")
        yield line, fields, start, end


def read_gff3(path: str | Path, feature_types: Iterable[str] | None = None) -> list[Region]:
    """Read GFF3 features as regions (converted from GFF3's 1-based inclusive to 0-based half-open).

    ``feature_types``: keep only these column-3 types (e.g. ``{"gene"}``); None keeps all. The region
    name is the ``ID`` attribute (else ``Name``). Stops at a ``##FASTA`` section. Errors name the line.
    """
    path = Path(path)
    wanted = None if feature_types is None else set(feature_types)
    regions = []
    for line, fields, start, end in gff3_rows(path, wanted):
        regions.append(Region(unquote(fields[0]), start, end, _strand(fields[6], path, line),
                              _gff_name(fields[8]), _score(fields[5], path, line), line))
    return regions
