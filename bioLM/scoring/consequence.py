"""Coding consequences of variant alleles on annotated CDS (GFF3 or GenBank/EMBL), with Biopython's translation.

For one ALT at 0-based ``start`` with REF on the reference: REF and ALT are trimmed of their common suffix and
prefix (VCF anchor bases), giving the changed interval ``[s, e)`` (``s == e`` for an insertion). Every CDS that
overlaps it, or lies within 2 bp of it, is looked at (all parts of a CDS: a multi-exon CDS is spliced, reverse-
complemented on the ``-`` strand, its 5' ``phase`` removed) and the most severe consequence is kept:

=====================  =====================================================================================
``stop_gained``        an in-frame change that makes a stop codon before the annotated one (``p.R12*``)
``frameshift``         length change not a multiple of 3 inside one CDS part (``p.K12fs``)
``stop_lost``          the stop codon changes to a sense codon (``p.*310Wext*?``)
``start_lost``         the first codon stops being a start codon of the genetic code (``p.M1?``)
``inframe_insertion``  / ``inframe_deletion``: a length change by a multiple of 3 (``p.K12del``, ``p.K12_L13insR``)
``missense``           one (or more, ``delins``) amino acid(s) changed (``p.R1699W``)
``splice_region``      within 2 bp (either side) of an exon-exon boundary of the CDS, not changing the protein;
                       appended as ``&splice_region`` to a coding consequence there
``synonymous``         the protein is unchanged (``p.L12L``)
``non_coding``         no CDS there (intron further than 2 bp from an exon, UTR, intergenic)
=====================  =====================================================================================

Exon boundaries are the boundaries between consecutive CDS parts (UTR exon boundaries are not seen). Each
allele's consequence is written ``consequence|feature|protein_change`` (VCF-safe: no ``=``, ``;``, ``,`` or
space), e.g. ``missense|AT1G01010.1|p.R169W`` or ``non_coding||``. Amino-acid positions are 1-based.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bioLM.alphabet import reverse_complement
from bioLM.errors import ConfigError
from bioLM.io.features import Feature, read_features

logger = logging.getLogger(__name__)

SPLICE_REGION_BASES = 2
SEVERITY = ("stop_gained", "frameshift", "stop_lost", "start_lost", "inframe_insertion", "inframe_deletion",
            "missense", "splice_region", "synonymous", "non_coding")
"""Consequence terms, most severe first."""
_UNSAFE = re.compile(r"[\s,;=|&]")


class SequenceSource(Protocol):
    """What the annotator needs of a reference: ``contig in ref`` and ``ref.fetch(contig, start, end)``
    (0-based half-open, upper-case); :class:`bioLM.io.Genome` is one."""

    def __contains__(self, contig: object) -> bool: ...

    def fetch(self, contig: str, start: int, end: int) -> str: ...


@dataclass(frozen=True)
class Consequence:
    """The consequence of one allele on one feature: ``term`` (see :data:`SEVERITY`, maybe ``&splice_region``),
    ``feature`` (the CDS's transcript / locus tag; empty for ``non_coding``), ``protein`` (``p.`` change)."""

    term: str
    feature: str = ""
    protein: str = ""

    @property
    def rank(self) -> int:
        return SEVERITY.index(self.term.split("&")[0])

    def __str__(self) -> str:
        return f"{self.term}|{_UNSAFE.sub('_', self.feature)}|{self.protein}"


NON_CODING = Consequence("non_coding")


def codon_table(genetic_code: int):
    """Biopython's unambiguous DNA codon table of NCBI translation table ``genetic_code`` (1 standard, 11 bacterial)."""
    from Bio.Data.CodonTable import unambiguous_dna_by_id

    if genetic_code not in unambiguous_dna_by_id:
        raise ConfigError(f"--genetic-code {genetic_code} is not an NCBI translation table; valid: "
                          f"{', '.join(map(str, sorted(unambiguous_dna_by_id)))} (1 standard, 11 bacteria/plastids)")
    return unambiguous_dna_by_id[genetic_code]


def header_line(annotation: str | Path, genetic_code: int) -> str:
    """The ``##INFO=<ID=BIOLM_CSQ,...>`` declaration (one value per ALT)."""
    return ('##INFO=<ID=BIOLM_CSQ,Number=A,Type=String,Description="bioLM coding consequence of the ALT: '
            f"consequence|feature|protein_change; consequence one of {', '.join(SEVERITY)} "
            f'(&splice_region within {SPLICE_REGION_BASES} bp of an exon boundary); annotation '
            f'{Path(annotation).name}, genetic code {genetic_code}">')


def _translate(cds: str, table) -> str:
    """Protein of ``cds`` (whole codons) up to and including the first stop; a start codon reads as M."""
    from Bio.Seq import translate

    codons = len(cds) // 3 * 3
    protein = translate(cds[:codons], table=table.id)  # the ambiguous table: N, K, S, Y... read as X (or the aa)
    stop = protein.find("*")
    protein = protein if stop < 0 else protein[:stop + 1]
    return "M" + protein[1:] if protein and cds[:3] in table.start_codons else protein


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _change(ref_p: str, alt_p: str, i: int) -> tuple[str, str]:
    """The differing middles of two proteins that agree on their first ``i`` residues."""
    j = 0
    while j < min(len(ref_p), len(alt_p)) - i and ref_p[-1 - j] == alt_p[-1 - j]:
        j += 1
    return ref_p[i:len(ref_p) - j], alt_p[i:len(alt_p) - j]


def _notation(ref_mid: str, alt_mid: str, i: int, ref_p: str) -> str:
    first = f"{ref_mid[:1]}{i + 1}"
    span = first if len(ref_mid) <= 1 else f"{first}_{ref_mid[-1]}{i + len(ref_mid)}"
    if not ref_mid:  # insertion between residues i and i+1 (1-based i, i+1)
        return f"p.{ref_p[i - 1:i]}{i}_{ref_p[i:i + 1]}{i + 1}ins{alt_mid}"
    if not alt_mid:
        return f"p.{span}del"
    if len(ref_mid) == len(alt_mid) == 1:
        return f"p.{ref_mid}{i + 1}{alt_mid}"
    return f"p.{span}delins{alt_mid}"


def classify(cds: str, alt_cds: str, table, complete_start: bool = True) -> tuple[str, str]:
    """``(term, protein change)`` of replacing the coding sequence ``cds`` (5'->3', from its first whole codon)
    by ``alt_cds``. ``complete_start``: the CDS begins at its start codon (so ``start_lost`` can apply)."""
    n = _common_prefix(cds, alt_cds)
    if complete_start and n < 3 and cds[:3] in table.start_codons and alt_cds[:3] not in table.start_codons:
        return "start_lost", "p.M1?"
    ref_p, alt_p = _translate(cds, table), _translate(alt_cds, table)
    if (len(alt_cds) - len(cds)) % 3:
        codon = n // 3
        return "frameshift", f"p.{ref_p[codon:codon + 1] or '?'}{codon + 1}fs"
    i = _common_prefix(ref_p, alt_p)
    if ref_p == alt_p:
        codon = min(n // 3, max(len(ref_p) - 1, 0))
        aa = ref_p[codon:codon + 1] or "?"
        return "synonymous", f"p.{aa}{codon + 1}{aa}"
    ref_aa, alt_aa = ref_p[i:i + 1], alt_p[i:i + 1]
    if ref_aa == "*":
        return "stop_lost", f"p.*{i + 1}{alt_aa or '?'}ext*?"
    if alt_aa == "*" and 3 * len(alt_p) < 3 * len(ref_p) + len(alt_cds) - len(cds):  # ends before it should
        return "stop_gained", f"p.{ref_aa or '?'}{i + 1}*"
    ref_mid, alt_mid = _change(ref_p, alt_p, i)
    term = ("missense" if len(alt_cds) == len(cds) else
            "inframe_deletion" if len(alt_cds) < len(cds) else "inframe_insertion")
    return term, _notation(ref_mid, alt_mid, i, ref_p)


def trim(start: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop the common suffix, then prefix, of REF and ALT: ``(start of the change, ref, alt)``, upper-case."""
    ref, alt = ref.upper(), alt.upper()
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    k = _common_prefix(ref, alt)
    return start + k, ref[k:], alt[k:]


def _near_boundary(feature: Feature, s: int, e: int) -> bool:
    """True when ``[s, e)`` (an insertion: the two bases around it) overlaps the 2 bp either side of an
    exon-exon boundary of ``feature``."""
    lo, hi = (s - 1, s + 1) if s == e else (s, e)
    margin = SPLICE_REGION_BASES
    for (_, left_end), (right_start, _) in zip(feature.parts, feature.parts[1:]):
        for boundary in (left_end, right_start):
            if lo < boundary + margin and hi > boundary - margin:
                return True
    return False


def _exon_of(feature: Feature, s: int, e: int) -> int | None:
    """Index of the part holding ``[s, e)`` whole (an insertion strictly inside a part), else None."""
    for k, (start, end) in enumerate(feature.parts):
        if (start <= s and e <= end) if s < e else (start < s < end):
            return k
    return None


class CodingAnnotator:
    """Consequences of alleles on the CDS features of an annotation, on a reference (see the module docstring).

    ``features``: CDS features (contig names as in ``reference``); ``genetic_code``: NCBI table number.
    """

    def __init__(self, features: Iterable[Feature], reference: SequenceSource, genetic_code: int = 1) -> None:
        self.table = codon_table(genetic_code)
        self.genetic_code = genetic_code
        self.reference = reference
        self._by_contig: dict[str, list[Feature]] = {}
        absent = set()
        for feature in features:
            if feature.trans_spliced or not feature.parts:
                continue
            if feature.contig not in reference:
                absent.add(feature.contig)
                continue
            self._by_contig.setdefault(feature.contig, []).append(feature)
        if absent:
            logger.warning("annotation contigs absent from the reference (their CDS are ignored): %s",
                           ", ".join(sorted(absent)[:5]))
        self._starts = {}
        self._longest = {}
        for contig, items in self._by_contig.items():
            items.sort(key=lambda f: f.start)
            self._starts[contig] = [f.start for f in items]
            self._longest[contig] = max(f.end - f.start for f in items)
        self._cache: dict[int, str] = {}  # id(feature) -> spliced genomic-order sequence

    @classmethod
    def from_file(cls, annotation: str | Path, reference: SequenceSource, genetic_code: int = 1
                  ) -> CodingAnnotator:
        """The CDS features of a GFF3 or GenBank/EMBL file (:func:`bioLM.io.features.read_features`)."""
        features = read_features(annotation, ["CDS"])
        if not features:
            logger.warning("%s: no CDS features; every allele will be non_coding", annotation)
        return cls(features, reference, genetic_code)

    @property
    def features(self) -> int:
        return sum(len(v) for v in self._by_contig.values())

    def _spliced(self, feature: Feature) -> str:
        """The parts' bases joined in genomic order (cached for the last few thousand features)."""
        key = id(feature)
        if key not in self._cache:
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[key] = "".join(self.reference.fetch(feature.contig, s, e) for s, e in feature.parts)
        return self._cache[key]

    def _nearby(self, contig: str, s: int, e: int) -> list[Feature]:
        items = self._by_contig.get(contig, [])
        if not items:
            return []
        margin = SPLICE_REGION_BASES + 1
        lo = bisect.bisect_left(self._starts[contig], s - margin - self._longest[contig])
        hi = bisect.bisect_right(self._starts[contig], e + margin)
        return [f for f in items[lo:hi] if f.start < e + margin and f.end > s - margin]

    def _on_feature(self, feature: Feature, s: int, ref: str, alt: str) -> Consequence | None:
        e = s + len(ref)
        splice = _near_boundary(feature, s, e)
        k = _exon_of(feature, s, e)
        if k is None:
            overlaps = any(a < max(e, s + 1) and b > s for a, b in feature.parts)
            if splice or overlaps:  # intronic near an exon, or an indel across an exon edge
                return Consequence("splice_region", feature.name or "", "p.?")
            return None
        spliced = self._spliced(feature)
        offset = sum(b - a for a, b in feature.parts[:k]) + s - feature.parts[k][0]
        alt_spliced = spliced[:offset] + alt + spliced[offset + len(ref):]
        if feature.strand == "-":
            spliced, alt_spliced = reverse_complement(spliced), reverse_complement(alt_spliced)
        phase = feature.phase
        term, protein = classify(spliced[phase:], alt_spliced[phase:], self.table, complete_start=phase == 0)
        if splice and term != "splice_region":
            term = "splice_region" if term == "synonymous" else f"{term}&splice_region"
        return Consequence(term, feature.name or "", protein)

    def annotate(self, contig: str, start: int, ref: str, alt: str) -> Consequence:
        """The most severe consequence of replacing ``ref`` at 0-based ``start`` of ``contig`` by ``alt``
        (VCF alleles: anchor bases allowed); :data:`NON_CODING` away from every CDS."""
        s, ref, alt = trim(start, ref, alt)
        if not ref and not alt:
            return NON_CODING
        found = [c for f in self._nearby(contig, s, s + len(ref))
                 if (c := self._on_feature(f, s, ref, alt)) is not None]
        return min(found, key=lambda c: c.rank) if found else NON_CODING


def annotator_for(annotation: str | Path | None, reference: SequenceSource, genetic_code: int = 1
                  ) -> CodingAnnotator | None:
    """:meth:`CodingAnnotator.from_file`, or None when ``annotation`` is None (no consequences asked for)."""
    return None if annotation is None else CodingAnnotator.from_file(annotation, reference, genetic_code)


_PLAIN = re.compile(r"^[ACGTNacgtn]+$")


def allele_consequences(annotator: CodingAnnotator, contig: str, start: int, ref: str,
                        alts: Iterable[str | None]) -> list[str]:
    """One consequence string per ALT of a VCF record at 0-based ``start`` ('.' for symbolic/invalid ALTs)."""
    return [str(annotator.annotate(contig, start, ref, alt)) if alt and _PLAIN.match(alt) and _PLAIN.match(ref)
            else "." for alt in alts]


def annotate_alleles(annotator: CodingAnnotator | None, chunk, alleles, contigs: dict[str, str]) -> None:
    """Set ``csq`` on the per-ALT entries of ``alleles`` (parallel to ``chunk`` of ``(index, pysam record)``),
    contigs renamed through ``contigs`` (VCF name -> reference name). No-op when ``annotator`` is None."""
    if annotator is None:
        return
    for (_, record), group in zip(chunk, alleles):
        if not record.alts or record.contig not in contigs:
            continue
        values = allele_consequences(annotator, contigs[record.contig], record.start, record.ref, record.alts)
        for allele in group:
            allele.csq = values[allele.alt]
