"""What to embed: FASTA/FASTQ records, BED/GFF3 regions of an indexed reference, windows around VCF variants.

Each input yields :class:`InputRecord` s: an id, one or more named sequences (``""`` for a plain sequence;
``"ref"`` and ``"alt"`` for a variant, embedded side by side) and metadata columns for the output.

Coordinates: regions are 0-based half-open (BED rule; GFF3 is converted by :mod:`bioLM.io`); regions on the
``-`` strand are embedded as the reverse complement. VCF ``POS`` is 1-based, as in the file. A variant window
of ``w`` bases starts ``w // 2`` bases before the variant's first REF base (metadata ``window_start``,
0-based; ``variant_offset`` = position of the variant in the window). The ref window is the reference there;
the alt window is the same left flank, then ALT, then the reference after REF, cut to ``w`` bases, so SNVs and
indels give two windows of the same length with the variant at the same offset. Past contig ends the windows
are padded with ``N``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bioLM.errors import ContigNotFoundError, InputFormatError

logger = logging.getLogger(__name__)

MAX_LISTED_MISMATCHES = 5


@dataclass
class InputRecord:
    """One output row: ``id``, the named sequences to embed, and metadata (column -> value)."""

    id: str
    sequences: dict[str, str]
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass
class VariantStats:
    """Counts of the VCF alleles that were skipped."""

    ref_mismatch: int = 0
    symbolic: int = 0


def fastx_records(path: str | Path, alphabet: str | None = None) -> Iterator[InputRecord]:
    """Records of a FASTA/FASTQ file (plain, gzip or bgzip); metadata: ``description``."""
    from bioLM.io import read_fastx

    for record in read_fastx(path, alphabet=alphabet):
        yield InputRecord(record.id, {"": record.sequence}, {"description": record.description})


def read_regions(path: str | Path, feature_types: list[str] | None = None) -> list:
    """Regions of a BED file, or of a GFF3 file (``.gff``/``.gff3``, optionally ``.gz``)."""
    from bioLM.io import read_bed, read_gff3

    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in (".gff", ".gff3"):
        return read_gff3(path, feature_types=feature_types)
    return read_bed(path)


def feature_records(path: str | Path, feature_types: list[str] | None = None) -> Iterator[InputRecord]:
    """Features of a GenBank/EMBL file on its own sequence (compound locations joined, strand-aware;
    :func:`bioLM.io.features.flat_features`). Ids: the locus_tag / gene / protein_id, else
    ``contig:start+1-end(strand)``. Metadata: :meth:`bioLM.io.features.Feature.columns` (qualifiers included)."""
    from bioLM.io.features import flat_features

    for feature, sequence in flat_features(path, feature_types):
        label = f"{feature.contig}:{feature.start + 1}-{feature.end}({feature.strand})"
        yield InputRecord(feature.name or label, {"": sequence}, feature.columns())


def _missing_contig(genome, contig: str, source: str | Path, what: str) -> ContigNotFoundError:
    shown = ", ".join(genome.contigs[:5]) + (", ..." if len(genome.contigs) > 5 else "")
    return ContigNotFoundError(
        f"{source}: {what} is on contig {contig!r}, which the reference {genome.path} does not have "
        f"(its contigs: {shown}); use the reference the file was made for, or rename the contigs")


def region_records(reference: str | Path, regions: str | Path,
                   feature_types: list[str] | None = None) -> Iterator[InputRecord]:
    """Sequences of the regions of a BED/GFF3 file on an indexed reference, strand-aware.

    Ids: the region name, else ``contig:start+1-end(strand)`` (1-based inclusive). Metadata: contig, start,
    end (0-based half-open), strand, name, score. A contig missing from the reference raises
    :class:`ContigNotFoundError` naming the regions file and the region.
    """
    from bioLM.io import Genome

    genome = Genome(reference)
    for number, region in enumerate(read_regions(regions, feature_types), 1):
        label = f"{region.contig}:{region.start + 1}-{region.end}({region.strand})"
        if region.contig not in genome:
            raise _missing_contig(genome, region.contig, regions, f"region {number} ({region.name or label})")
        length = genome.lengths[region.contig]
        if region.end > length:
            raise InputFormatError(
                f"region {number} ({region.name or label}) ends at {region.end}, past the end of contig "
                f"{region.contig!r} ({length:,} bases in {Path(reference).name}); fix or drop the region, or check "
                "that the regions and the reference are the same assembly",
                path=regions, line=region.line)
        sequence = genome.fetch(region.contig, region.start, region.end, region.strand)
        yield InputRecord(region.name or label, {"": sequence},
                          {"contig": region.contig, "start": region.start, "end": region.end,
                           "strand": region.strand, "name": region.name or "", "score": region.score})


def _variant_file(path: str | Path):
    import pysam

    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as error:
        raise InputFormatError(f"cannot read it as VCF/BCF ({error})", path=path) from None


def _header_lines(path: str | Path) -> int | None:
    """Number of ``#`` header lines of a text VCF (plain or (b)gzip); None for BCF."""
    import gzip

    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    count = 0
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as handle:
        try:
            for line in handle:
                if line.startswith(b"BCF"):
                    return None
                if not line.startswith(b"#"):
                    break
                count += 1
        except (OSError, EOFError):
            return None
    return count


def _alleles(vcf_path: str | Path) -> Iterator[tuple[str, object, str]]:
    """(where: "line N" of the file, or "record N" for BCF; record; ALT) for every alternative allele."""
    header = _header_lines(vcf_path)
    with _variant_file(vcf_path) as vcf:
        for ordinal, record in enumerate(vcf, 1):
            where = f"line {header + ordinal}" if header is not None else f"record {ordinal}"
            for alt in record.alts or ():
                yield where, record, alt


def _is_symbolic(alt: str) -> bool:
    return alt.startswith("<") or alt in ("*", ".") or "[" in alt or "]" in alt


def _reference_allele(genome, record, vcf_path: str | Path, line: str) -> str:
    if record.chrom not in genome:
        raise _missing_contig(genome, record.chrom, vcf_path, f"the variant at {line}")
    start = record.pos - 1
    return genome.fetch(record.chrom, start, start + len(record.ref), pad=True)


def check_vcf_reference(genome, vcf_path: str | Path) -> None:
    """Raise :class:`InputFormatError` listing the first variants whose REF disagrees with ``genome``."""
    mismatches, total = [], 0
    for line, record, alt in _alleles(vcf_path):
        if _is_symbolic(alt):
            continue
        total += 1
        found = _reference_allele(genome, record, vcf_path, line)
        if found != record.ref.upper():
            mismatches.append(f"{line} {record.chrom}:{record.pos} REF={record.ref} reference={found}")
    if mismatches:
        listed = "; ".join(mismatches[:MAX_LISTED_MISMATCHES])
        raise InputFormatError(
            f"REF disagrees with the reference {genome.path} at {len(mismatches)} of {total} alleles "
            f"(first: {listed}); check that the VCF and the reference are the same assembly, or pass "
            "--skip-ref-mismatch (Python: skip_ref_mismatch=True) to skip and count them", path=vcf_path)


def variant_windows(genome, record, alt: str, window: int) -> tuple[str, str, int, int]:
    """``(ref_window, alt_window, window_start, variant_offset)`` of one allele (see the module docstring)."""
    start = record.pos - 1
    left = window // 2
    window_start = start - left
    ref_seq = genome.fetch(record.chrom, window_start, window_start + window, pad=True)
    after = start + len(record.ref)
    right = max(window - left - len(alt), 0)
    alt_seq = (genome.fetch(record.chrom, window_start, start, pad=True) + alt.upper()
               + genome.fetch(record.chrom, after, after + right, pad=True))
    return ref_seq, alt_seq, window_start, left


def variant_records(reference: str | Path, vcf: str | Path, window: int, skip_ref_mismatch: bool = False,
                    stats: VariantStats | None = None) -> Iterator[InputRecord]:
    """Ref and alt windows of ``window`` bases around every (non-symbolic) allele of a VCF/BCF.

    Multi-allelic records give one row per ALT. Without ``skip_ref_mismatch`` the whole VCF is checked
    first and any REF that disagrees with the reference raises; with it, such alleles are skipped and
    counted in ``stats.ref_mismatch`` (symbolic alleles such as ``<DEL>`` are always skipped and counted).
    Ids: the VCF ID, else ``contig:pos:REF>ALT``.
    """
    from bioLM.io import Genome

    genome = Genome(reference)
    stats = stats if stats is not None else VariantStats()
    if not skip_ref_mismatch:
        check_vcf_reference(genome, vcf)
    for line, record, alt in _alleles(vcf):
        if _is_symbolic(alt):
            stats.symbolic += 1
            continue
        if _reference_allele(genome, record, vcf, line) != record.ref.upper():
            stats.ref_mismatch += 1
            continue
        ref_seq, alt_seq, window_start, offset = variant_windows(genome, record, alt, window)
        name = f"{record.chrom}:{record.pos}:{record.ref}>{alt}"
        identifier = record.id if record.id and len(record.alts) == 1 else name
        yield InputRecord(identifier, {"ref": ref_seq, "alt": alt_seq},
                          {"contig": record.chrom, "pos": record.pos, "ref": record.ref, "alt": alt,
                           "variant": name, "window_start": window_start, "variant_offset": offset})
    if stats.ref_mismatch:
        logger.warning("%s: skipped %d alleles whose REF disagrees with the reference", vcf, stats.ref_mismatch)
    if stats.symbolic:
        logger.info("%s: skipped %d symbolic alleles", vcf, stats.symbolic)
