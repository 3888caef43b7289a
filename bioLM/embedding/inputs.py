"""What to embed: FASTA/FASTQ records, BED/GFF3 regions of an indexed reference, windows around VCF variants.

Each input yields :class:`InputRecord` s: an id, one or more named sequences (``""`` for a plain sequence;
``"ref"`` and ``"alt"`` for a variant, embedded side by side) and metadata columns for the output.

Coordinates: regions are 0-based half-open (BED rule; GFF3 is converted by :mod:`bioLM.io`); regions on the
``-`` strand are embedded as the reverse complement. VCF ``POS`` is 1-based, as in the file. Variants follow
:mod:`bioLM.io.vcf` (the same rules as ``score-variants``: contig map, REF check, symbolic alleles, and the
window rule): the ref window is ``window`` reference bases centred on REF (shifted inward at contig ends),
the alt window the same interval with REF replaced by ALT. Metadata: ``window_start`` (0-based) and
``variant_offset`` (position of the variant's first base in both windows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bioLM.errors import ContigNotFoundError, InputFormatError
from bioLM.io import Genome, read_bed, read_fastx, read_gff3
from bioLM.io import vcf as vcf_rules
from bioLM.io.features import flat_features

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
    for record in read_fastx(path, alphabet=alphabet):
        yield InputRecord(record.id, {"": record.sequence}, {"description": record.description})


def read_regions(path: str | Path, feature_types: list[str] | None = None) -> list:
    """Regions of a BED file, or of a GFF3 file (``.gff``/``.gff3``, optionally ``.gz``)."""
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in (".gff", ".gff3"):
        return read_gff3(path, feature_types=feature_types)
    return read_bed(path)


def feature_records(path: str | Path, feature_types: list[str] | None = None) -> Iterator[InputRecord]:
    """Features of a GenBank/EMBL file on its own sequence (compound locations joined, strand-aware;
    :func:`bioLM.io.features.flat_features`). Ids: the locus_tag / gene / protein_id, else
    ``contig:start+1-end(strand)``. Metadata: :meth:`bioLM.io.features.Feature.columns` (qualifiers included)."""
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


def _alleles(vcf_path: str | Path, genome, contig_map: dict[str, str]) -> Iterator[tuple[str, object, str, str]]:
    """(location "line N" / "record N", record, reference contig, ALT) for every alternative allele."""
    header = vcf_rules.count_header_lines(vcf_path)
    for index, record, _ in vcf_rules.iter_records(vcf_path):
        where = vcf_rules.record_location(header, index)
        contig = vcf_rules.reference_contig(record.chrom, contig_map, genome)
        if contig is None:
            raise _missing_contig(genome, record.chrom, vcf_path, f"the variant at {where}")
        for alt in record.alts or ():
            yield where, record, contig, alt


def check_vcf_reference(genome, vcf_path: str | Path, contig_map: dict[str, str] | None = None) -> None:
    """Raise :class:`InputFormatError` listing the first variants whose REF disagrees with ``genome``."""
    mismatches, total = [], 0
    for line, record, contig, alt in _alleles(vcf_path, genome, contig_map or {}):
        if vcf_rules.skip_reason(alt) is not None:
            continue
        total += 1
        problem = vcf_rules.ref_problem(genome, contig, record.pos - 1, record.ref, record.chrom)
        if problem is not None:
            mismatches.append(f"{line} {problem}")
    if mismatches:
        listed = "; ".join(mismatches[:MAX_LISTED_MISMATCHES])
        raise InputFormatError(
            f"REF disagrees with the reference {genome.path} at {len(mismatches)} of {total} alleles "
            f"(first: {listed}); check that the VCF and the reference are the same assembly, or pass "
            "--skip-ref-mismatch (Python: skip_ref_mismatch=True) to skip and count them", path=vcf_path)


def variant_records(reference: str | Path, vcf: str | Path, window: int, skip_ref_mismatch: bool = False,
                    stats: VariantStats | None = None, contig_map: str | Path | None = None
                    ) -> Iterator[InputRecord]:
    """Ref and alt windows of ``window`` bases around every (non-symbolic) allele of a VCF/BCF.

    Multi-allelic records give one row per ALT. Without ``skip_ref_mismatch`` the whole VCF is checked
    first and any REF that disagrees with the reference raises; with it, such alleles are skipped and
    counted in ``stats.ref_mismatch`` (symbolic and invalid alleles such as ``<DEL>`` are always skipped and
    counted in ``stats.symbolic``). ``contig_map``: a file of ``vcf_name reference_name`` pairs.
    Ids: the VCF ID, else ``contig:pos:REF>ALT``.
    """
    vcf = vcf_rules.check_vcf_file(vcf)
    renames = vcf_rules.read_contig_map(contig_map) if contig_map else {}
    genome = Genome(reference)
    stats = stats if stats is not None else VariantStats()
    if not skip_ref_mismatch:
        check_vcf_reference(genome, vcf, renames)
    for _, record, contig, alt in _alleles(vcf, genome, renames):
        if vcf_rules.skip_reason(alt) is not None:
            stats.symbolic += 1
            continue
        if vcf_rules.ref_problem(genome, contig, record.pos - 1, record.ref, record.chrom) is not None:
            stats.ref_mismatch += 1
            continue
        start = record.pos - 1
        ws, we = vcf_rules.window_interval(start, len(record.ref), window, genome.lengths[contig])
        pair = vcf_rules.window_pair(genome.fetch(contig, ws, we), ws, start, record.ref, alt)
        ref_seq, alt_seq, window_start, offset = pair.ref, pair.alt, ws, start - ws
        name = f"{record.chrom}:{record.pos}:{record.ref}>{alt}"
        identifier = record.id if record.id and len(record.alts) == 1 else name
        yield InputRecord(identifier, {"ref": ref_seq, "alt": alt_seq},
                          {"contig": record.chrom, "pos": record.pos, "ref": record.ref, "alt": alt,
                           "variant": name, "window_start": window_start, "variant_offset": offset})
    if stats.ref_mismatch:
        logger.warning("%s: skipped %d alleles whose REF disagrees with the reference", vcf, stats.ref_mismatch)
    if stats.symbolic:
        logger.info("%s: skipped %d symbolic alleles", vcf, stats.symbolic)
