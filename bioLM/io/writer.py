"""FASTA writing: the inverse of :func:`bioLM.io.fastx.read_fastx` for FASTA records."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bioLM.io.fastx import Record


def _write(handle: TextIO, records: Iterable[Record], width: int) -> int:
    count = 0
    for record in records:
        header = f"{record.id} {record.description}" if record.description else record.id
        handle.write(f">{header}\n")
        sequence = record.sequence
        step = width if width > 0 else max(1, len(sequence))
        handle.write("".join(sequence[i:i + step] + "\n" for i in range(0, len(sequence), step)))
        count += 1
    return count


def write_fasta(path_or_handle: str | Path | TextIO, records: Iterable[Record], width: int = 60) -> int:
    """Write ``records`` as FASTA with ``width``-column sequence lines (0: one line per record).

    A path ending in ``.gz`` is gzip-compressed. Returns the number of records written. Qualities and
    soft masks are not written (FASTA has neither); the sequence is written as stored (upper-case).
    """
    if hasattr(path_or_handle, "write"):
        return _write(path_or_handle, records, width)  # type: ignore[arg-type]
    path = Path(path_or_handle)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            return _write(handle, records, width)
    with open(path, "w") as handle:
        return _write(handle, records, width)
