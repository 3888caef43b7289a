"""Annotated sequence files through Biopython: GenBank, EMBL and UniProt/Swiss-Prot flat files.

:func:`bioLM.io.read_fastx` is the one sequence reader of bioLM: it detects the format from the file's
content (first non-blank line: ``>`` FASTA, ``@`` FASTQ, ``LOCUS`` GenBank, ``ID   ... BP.`` EMBL,
``ID   ... AA.`` UniProt/Swiss-Prot; plain or gzip) and hands the flat files to :class:`FlatFileReader`, which
yields the same :class:`~bioLM.io.fastx.Record` s as the FASTA path (FASTA/FASTQ stay on the pysam path).

Ids: GenBank/EMBL ``ACCESSION.VERSION`` (Biopython's ``record.id``), UniProt the primary accession;
descriptions: the DEFINITION / DE line. These formats store sequence in one case by convention (GenBank and EMBL
lower, UniProt upper), so they carry no soft mask: with ``keep_soft_mask=True`` the mask is all False.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bioLM.errors import InputFormatError
from bioLM.io.fastx import _CONTROL, FastxReader, FileFormat, Record, read_head

FLAT_FORMATS = {"genbank": "genbank", "embl": "embl", "uniprot": "swiss"}
"""bioLM format name -> Biopython ``SeqIO`` format name."""

FLAT_SUFFIXES = (".gb", ".gbk", ".gbff", ".genbank", ".embl", ".dat")
"""File names taken as flat files when scanning a directory (the format itself is always read from content)."""

SEQUENCE_SUFFIXES = (".fa", ".fasta", ".fna", ".ffn", ".faa", ".frn", ".fq", ".fastq", ".seq", *FLAT_SUFFIXES)
"""The one list of sequence file names (FASTA, FASTQ, flat files), each also with a compression suffix."""
COMPRESSION_SUFFIXES = (".gz", ".bgz", ".bgzf")


def sequence_file_stem(name: str) -> str | None:
    """``name`` without its sequence suffix (and compression suffix), compared case-insensitively:
    ``"a.fa.gz"`` -> ``"a"``; None when ``name`` is not a sequence file name (:data:`SEQUENCE_SUFFIXES`)."""
    lower = name.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[:-len(suffix)]
            break
    suffix = next((s for s in SEQUENCE_SUFFIXES if lower.endswith(s)), None)
    return None if suffix is None else name[:len(lower) - len(suffix)]


READABLE = ("a FASTA header ('>'), FASTQ header ('@'), GenBank ('LOCUS'), EMBL ('ID   ... BP.') or UniProt/Swiss-Prot "
            "('ID   ... AA.'), plain or gzip")

_OTHER_FORMATS = (  # (first-line prefix, what it is, what to do instead)
    (b"##gff-version", "GFF3 annotation", "pass it as --regions / --annotation with its FASTA"),
    (b"##fileformat=VCF", "a VCF", "pass it as --vcf"),
    (b"@HD\t", "SAM alignments", "convert the reads: `samtools fasta`"),
    (b"BAM\x01", "BAM alignments", "convert the reads: `samtools fasta`"),
    (b"<?xml", "XML (UniProt XML?)", "download the flat-text (.dat) or FASTA version"),
    (b"#", "a commented table (BED, GFF, TSV?)", "give the sequences as FASTA"),
    (b"track", "a BED/WIG track", "give the sequences as FASTA"),
)


def _head(path: Path) -> tuple[bytes, str]:
    """First bytes of ``path`` (decompressed when gzip) and the compression; missing/empty files raise."""
    return read_head(path, "a sequence file", READABLE)


def _flat_format(first: bytes) -> str | None:
    """'genbank', 'embl', 'uniprot' from the first non-blank line, else None."""
    if first.startswith(b"LOCUS "):
        return "genbank"
    if first.startswith(b"ID   "):
        line = first.rstrip()
        return "uniprot" if line.endswith(b"AA.") or b"Reviewed;" in line else "embl"
    return None


def detect_flat_format(path: str | Path, *, strict: bool = True) -> FileFormat | None:
    """:class:`FileFormat` ('genbank'/'embl'/'uniprot', 'none'/'gzip'/'bgzip') when ``path`` is a flat file;
    None when it starts with a FASTA/FASTQ header (or binary data: the FASTA sniffer reports that).

    Other text (GFF3, VCF, SAM, ...) raises InputFormatError naming what it looks like, unless ``strict=False``
    (then None). Missing or empty files always raise.
    """
    path = Path(path)
    text, compression = _head(path)
    stripped = text.lstrip()
    first = stripped.split(b"\n", 1)[0]
    if first.startswith((b">", b"@")) or not stripped or len(text.translate(None, _CONTROL)) != len(text):
        return None
    kind = _flat_format(first)
    if kind is not None:
        return FileFormat(kind, compression)  # type: ignore[arg-type]
    if not strict:
        return None
    line = text.count(b"\n", 0, len(text) - len(stripped)) + 1
    shown = first[:40].decode("utf-8", "replace").rstrip()
    hint = next((f"; this looks like {what}: {fix}" for prefix, what, fix in _OTHER_FORMATS
                 if first.startswith(prefix)), "")
    if not hint and first.count(b"\t") == 8:
        hint = "; this looks like GFF/GTF annotation (9 tab-separated columns): pass it as --regions / --annotation"
    raise InputFormatError(f"expected {READABLE}; found {shown!r}{hint}", path=path, line=line)


def open_text(path: Path, compression: str):
    """A text handle on a plain or gzip file."""
    opener = gzip.open if compression != "none" else open
    return io.TextIOWrapper(opener(path, "rb"), encoding="utf-8")


class FlatFileReader(FastxReader):
    """Iterator over the :class:`Record` s of a GenBank, EMBL or UniProt file (see :func:`read_fastx`).

    Same attributes and letter policy as :class:`FastxReader` (``records``, ``empty_records``, ``format``,
    ``alphabet``; duplicate ids and invalid letters raise, naming the record). Parse errors name the record
    ordinal; Biopython does not report line numbers.
    """

    def __init__(self, path: str | Path, fmt: FileFormat, **options) -> None:
        self._flat_format = fmt
        super().__init__(path, **options)

    def _sniff(self) -> FileFormat:
        return self._flat_format

    def _generate(self) -> Iterator[Record]:
        from Bio import SeqIO

        name, last = FLAT_FORMATS[self.format.format], None
        try:
            with open_text(self.path, self.format.compression) as handle:
                for entry in SeqIO.parse(handle, name):
                    self.records += 1
                    sequence = str(entry.seq)
                    record = self._record(entry.id, entry.description, sequence, None)
                    if self.keep_soft_mask:  # no case information in these formats
                        record.soft_mask = np.zeros(len(sequence), dtype=bool)
                    last = record.id
                    yield record
        except (ValueError, OSError, EOFError, UnicodeDecodeError) as error:
            if isinstance(error, InputFormatError):
                raise
            after = f"after record #{self.records} ({last!r})" if last is not None else "in the first record"
            raise InputFormatError(f"malformed {self.format.format} file {after} ({error})",
                                   path=self.path) from None
        if self.records == 0:
            raise InputFormatError(f"no {self.format.format} record could be read (is the file complete, "
                                   "ending with '//'?)", path=self.path)
