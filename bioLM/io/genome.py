"""Indexed reference access (``pysam.FastaFile`` + faidx) and streaming windows over huge records.

Coordinate rule (the only one in bioLM): integer ``start``/``end`` are 0-based half-open; region strings
``"chr:start-end"`` are 1-based inclusive (samtools/pysam's rule) and are converted only by
:func:`parse_region`: ``"chr1:1-100"`` is ``Region("chr1", 0, 100)``.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam

from bioLM.alphabet import reverse_complement
from bioLM.errors import ContigNotFoundError, InputFormatError, RegionError
from bioLM.io.fastx import sniff
from bioLM.io.intervals import Region

logger = logging.getLogger(__name__)

_REGION = re.compile(r"^(?P<contig>.+?):(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?(?::(?P<strand>[+-]))?$")


def parse_region(text: str) -> Region:
    """Parse ``"chr:start-end"`` (1-based inclusive, commas allowed, optional ``":+"``/``":-"`` strand
    suffix; ``"chr:pos"`` is one base) into a 0-based half-open :class:`Region`."""
    match = _REGION.match(text.strip())
    if match is None:
        raise RegionError(f"region {text!r} is not of the form 'contig:start-end' (1-based inclusive), "
                          "e.g. 'chr1:1001-2000'")
    start = int(match["start"].replace(",", ""))
    end = int(match["end"].replace(",", "")) if match["end"] else start
    if start < 1 or end < start:
        raise RegionError(f"region {text!r}: need 1 <= start <= end (1-based inclusive coordinates)")
    return Region(match["contig"], start - 1, end, match["strand"] or "+")


@dataclass(frozen=True)
class Window:
    """A window ``[start, end)`` (0-based half-open) of ``contig`` and its upper-cased sequence."""

    contig: str
    start: int
    end: int
    sequence: str


class Contig:
    """One contig of a :class:`Genome`; slices like a string (``contig[start:end]``, 0-based half-open)."""

    def __init__(self, genome: Genome, name: str, length: int) -> None:
        self.genome, self.name, self.length = genome, name, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | slice) -> str:
        if isinstance(key, int):
            position = key + self.length if key < 0 else key
            return self.genome.fetch(self.name, position, position + 1)
        start, stop, step = key.indices(self.length)
        sequence = self.genome.fetch(self.name, start, max(start, stop))
        return sequence if step == 1 else sequence[::step]

    def __str__(self) -> str:
        return self.genome.fetch(self.name, 0, self.length)

    def __repr__(self) -> str:
        return f"Contig({self.name!r}, length={self.length})"


def _writable(folder: Path) -> bool:
    """Writable, and meant to be: a folder without write permission bits (a shared read-only data
    folder) counts as read-only even for root."""
    mode = folder.stat().st_mode
    return os.access(folder, os.W_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _index_dir(path: Path, index_dir: str | Path | None) -> Path | None:
    """Where the faidx index goes: next to the file when its folder is writable, else a cache folder."""
    if index_dir is not None:
        return Path(index_dir)
    if (path.parent / (path.name + ".fai")).exists() or _writable(path.parent):
        return None
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "biolm" / "faidx" / key


def _open_fasta(path: Path, index_dir: Path | None, compression: str) -> pysam.FastaFile:
    """Open ``path`` with pysam, building the .fai (and .gzi for bgzip) when missing."""
    fai = (index_dir or path.parent) / (path.name + ".fai")
    gzi = (index_dir or path.parent) / (path.name + ".gzi")
    verbosity = pysam.set_verbosity(0)
    try:
        if not fai.exists():
            logger.info("indexing %s -> %s", path, fai)
            fai.parent.mkdir(parents=True, exist_ok=True)
            options = ["--fai-idx", str(fai)]
            if compression == "bgzip":
                options += ["--gzi-idx", str(gzi)]
            pysam.faidx(str(path), *options)
        kwargs = {"filepath_index": str(fai)}
        if compression == "bgzip":
            kwargs["filepath_index_compressed"] = str(gzi)
        return pysam.FastaFile(str(path), **kwargs)
    except (pysam.utils.SamtoolsError, OSError, ValueError) as error:
        detail = str(error).split("stderr=")[-1].strip(" '\n")
        raise InputFormatError(
            f"cannot build or read the faidx index ({detail}); faidx needs every sequence line of a "
            "record to have the same length (except the last) and no blank lines inside records: "
            "re-wrap it (e.g. `samtools faidx` reports the bad record)", path=path) from None
    finally:
        pysam.set_verbosity(verbosity)


class Genome:
    """An indexed FASTA reference (plain or bgzip), dict-like: ``genome["chr1"][100:200]``.

    ``contigs`` (names, file order) and ``lengths`` (name -> length). Sequences are returned upper-cased
    (the soft-mask policy of :mod:`bioLM.alphabet`). The ``.fai`` is created when missing (next to the
    file, or under ``index_dir`` / a user cache folder when that folder is not writable).
    """

    def __init__(self, path: str | Path, *, index_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        fmt = sniff(self.path)
        if fmt.format != "fasta":
            raise InputFormatError("indexed access needs FASTA, this is FASTQ", path=self.path)
        if fmt.compression == "gzip":
            raise InputFormatError(
                "gzip-compressed but not bgzip-compressed, so it cannot be indexed; re-compress it with "
                f"bgzip: `gunzip -c {self.path} | bgzip > {self.path.with_suffix('')}.bgz` "
                "(or decompress it)", path=self.path)
        self._fasta = _open_fasta(self.path, _index_dir(self.path, index_dir), fmt.compression)
        self.contigs: list[str] = list(self._fasta.references)
        self.lengths: dict[str, int] = dict(zip(self.contigs, self._fasta.lengths))

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fasta.close()

    def __contains__(self, contig: object) -> bool:
        return contig in self.lengths

    def __iter__(self) -> Iterator[str]:
        return iter(self.contigs)

    def __len__(self) -> int:
        return len(self.contigs)

    def keys(self) -> list[str]:
        return list(self.contigs)

    def __getitem__(self, contig: str) -> Contig:
        return Contig(self, contig, self._length(contig))

    def _length(self, contig: str) -> int:
        if contig in self.lengths:
            return self.lengths[contig]
        variants = [contig[3:]] if contig.lower().startswith("chr") else ["chr" + contig, "Chr" + contig]
        close = [c for c in self.contigs if c in variants or c.lower() == contig.lower()]
        close += [c for c in difflib.get_close_matches(contig, self.contigs, n=3, cutoff=0.6) if c not in close]
        hint = f"; did you mean {', '.join(map(repr, close[:3]))}?" if close else ""
        shown = ", ".join(self.contigs[:5]) + (", ..." if len(self.contigs) > 5 else "")
        raise ContigNotFoundError(f"{self.path}: contig {contig!r} not found ({len(self.contigs)} contigs: "
                                  f"{shown}){hint}")

    def fetch(self, contig: str, start: int, end: int, strand: str = "+", pad: bool = False) -> str:
        """Sequence of ``[start, end)`` (0-based half-open) on ``contig``, upper-cased; reverse complement
        for ``strand="-"``. Past the contig ends: RegionError, or 'N' padding with ``pad=True``."""
        length = self._length(contig)
        if strand not in ("+", "-"):
            raise RegionError(f"strand {strand!r} is not '+' or '-'")
        if end < start:
            raise RegionError(f"{contig}:{start}-{end}: end < start (0-based half-open coordinates)")
        if (start < 0 or end > length) and not pad:
            raise RegionError(f"region [{start}, {end}) lies outside contig {contig!r} of length {length} "
                              "(0-based half-open); pass pad=True to pad with N")
        inner_start, inner_end = max(0, start), min(end, length)
        sequence = self._fasta.fetch(contig, inner_start, inner_end) if inner_start < inner_end else ""
        if pad:
            left, right = max(0, min(end, 0) - start), max(0, end - max(start, length))
            sequence = "N" * left + sequence + "N" * right
        sequence = sequence.upper()
        return reverse_complement(sequence) if strand == "-" else sequence

    def fetch_region(self, region: str | Region, pad: bool = False) -> str:
        """Sequence of a :class:`Region` or a ``"chr:start-end"`` string (1-based inclusive; a bare
        contig name means the whole contig)."""
        if isinstance(region, str):
            region = (Region(region, 0, self.lengths[region]) if region in self.lengths
                      else parse_region(region))
        return self.fetch(region.contig, region.start, region.end, region.strand, pad)


def iter_windows(path: str | Path, size: int, overlap: int = 0, *,
                 index_dir: str | Path | None = None) -> Iterator[Window]:
    """Stream windows of ``size`` bases overlapping by ``overlap`` over every contig of an indexed FASTA
    (plain or bgzip), through faidx: memory stays flat whatever the record length. Windows are 0-based
    half-open; the last window of a contig is shorter when the contig does not divide evenly."""
    if size <= 0 or not 0 <= overlap < size:
        raise RegionError(f"need size > 0 and 0 <= overlap < size, got size={size}, overlap={overlap}")
    step = size - overlap
    with Genome(path, index_dir=index_dir) as genome:
        for contig in genome.contigs:
            length = genome.lengths[contig]
            start = 0
            while start < length:
                end = min(start + size, length)
                yield Window(contig, start, end, genome.fetch(contig, start, end))
                if end >= length:
                    break
                start += step
