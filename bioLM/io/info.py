"""Summary statistics of a FASTA/FASTQ file (what ``biolm info`` prints), in one streaming pass.

Memory: one record at a time plus 8 bytes per record (its length, for the median); per-symbol counts come from
``np.bincount`` over each record's bytes, so there is no per-base Python loop.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import numpy as np

from bioLM.io.fastx import read_fastx


def _symbol_counts(counts: np.ndarray) -> dict[str, int]:
    return {chr(code): int(counts[code]) for code in np.flatnonzero(counts)}


def file_info(path: str | Path, *, alphabet: str | None = None,
              allow_duplicate_ids: bool = False) -> dict[str, Any]:
    """Statistics of one file: format, compression, records, empty records, total length, min / median /
    max length, alphabet (detected from the first record unless given), ``non_canonical``: counts of symbols
    outside the alphabet's canonical letters (A, C, G, T for DNA and RNA, where U is read as T as everywhere
    in bioLM; the 20 standard amino acids for protein), soft-masked (lowercase) fraction, and GC fraction
    (G+C over A+C+G+T; nucleotides only). ``non_acgt`` (nucleotides only, else None) is the same counts.

    Reading errors raise InputFormatError like :func:`read_fastx`.
    """
    reader = read_fastx(path, alphabet=alphabet, allow_duplicate_ids=allow_duplicate_ids,
                        keep_soft_mask=True)
    counts = np.zeros(256, dtype=np.int64)
    lengths = array("q")  # 8 bytes per record
    masked = 0
    for record in reader:
        lengths.append(len(record.sequence))
        if record.sequence:
            counts += np.bincount(np.frombuffer(record.sequence.encode("ascii"), dtype=np.uint8),
                                  minlength=256)
            masked += int(np.count_nonzero(record.soft_mask))
    total = sum(lengths)
    symbols = _symbol_counts(counts)
    name = reader.alphabet.name if reader.alphabet is not None else alphabet or "dna"
    canonical = "ACGT" if name in ("dna", "rna") else reader.alphabet.canonical
    non_canonical = {s: n for s, n in sorted(symbols.items()) if s not in canonical}
    info: dict[str, Any] = {
        "path": str(path),
        "format": reader.format.format,
        "compression": reader.format.compression,
        "records": reader.records,
        "empty_records": reader.empty_records,
        "total_length": total,
        "min_length": min(lengths) if lengths else 0,
        "median_length": float(np.median(np.frombuffer(lengths, dtype=np.int64))) if lengths else 0.0,
        "max_length": max(lengths) if lengths else 0,
        "alphabet": name,
        "non_canonical": non_canonical,
        "non_acgt": non_canonical if name in ("dna", "rna") else None,
        "soft_masked_fraction": masked / total if total else 0.0,
        "gc": None,
    }
    if name in ("dna", "rna"):
        gc = symbols.get("G", 0) + symbols.get("C", 0)
        acgt = gc + symbols.get("A", 0) + symbols.get("T", 0)
        info["gc"] = gc / acgt if acgt else 0.0
    return info
