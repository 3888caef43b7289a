"""Annotated features (CDS, gene, rRNA, ...) of GenBank / EMBL files (Biopython) and GFF3 files, with compound
locations kept whole.

A :class:`Feature` is one feature with all its parts: a CDS in three exons is one feature of three ``parts``,
not three regions. ``parts`` are 0-based half-open intervals in genomic order (ascending ``start``), whatever
the strand; a feature's spliced sequence is the parts joined, reverse-complemented on the ``-`` strand.
GenBank/EMBL features live on the record's own sequence: the contig is the record id (``ACCESSION.VERSION``).
GFF3 lines are grouped into one feature by ``ID`` (else by their first ``Parent``), per type and contig.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from bioLM.errors import InputFormatError
from bioLM.io.intervals import Region, _strand, gff3_rows
from bioLM.io.seqfile import detect_flat_format, open_text

logger = logging.getLogger(__name__)

QUALIFIER_COLUMNS = ("locus_tag", "gene", "product")
"""Qualifiers written as output columns (empty when the feature has none)."""


@dataclass
class Feature:
    """One annotated feature: ``parts`` (0-based half-open, genomic order) on ``contig`` and ``strand``.

    ``phase``: bases to skip at the feature's 5' end before the first complete codon (GFF3 phase of the
    5'-most CDS part; GenBank ``/codon_start`` - 1). ``trans_spliced``: parts on different strands (only
    GenBank/EMBL can say so; the joined sequence is then Biopython's, ``strand`` that of the first part).
    """

    contig: str
    parts: tuple[tuple[int, int], ...]
    strand: str
    type: str
    name: str | None
    qualifiers: dict[str, str] = field(default_factory=dict)
    phase: int = 0
    trans_spliced: bool = False

    @property
    def start(self) -> int:
        return self.parts[0][0]

    @property
    def end(self) -> int:
        return self.parts[-1][1]

    @property
    def region(self) -> Region:
        """The span ``[start, end)`` of the feature as a :class:`Region` (introns included)."""
        return Region(self.contig, self.start, self.end, self.strand, self.name)

    def location(self) -> str:
        """1-based inclusive parts, e.g. ``"101-160,201-260"`` (genomic order)."""
        return ",".join(f"{start + 1}-{end}" for start, end in self.parts)

    def columns(self) -> dict[str, object]:
        """Output columns: contig, start, end (span, 0-based half-open), strand, name, type, location, and
        :data:`QUALIFIER_COLUMNS`."""
        return {"contig": self.contig, "start": self.start, "end": self.end, "strand": self.strand,
                "name": self.name or "", "type": self.type, "location": self.location(),
                **{key: self.qualifiers.get(key, "") for key in QUALIFIER_COLUMNS}}


def is_flat_file(path: str | Path) -> bool:
    """True when ``path`` is a GenBank or EMBL file (read from its content); False for anything else,
    including files that cannot be read (their own reader reports why)."""
    try:
        fmt = detect_flat_format(path, strict=False)
    except InputFormatError:
        return False
    return fmt is not None and fmt.format in ("genbank", "embl")


def _qualifiers(seq_feature) -> dict[str, str]:
    return {key: str(values[0]) if isinstance(values, list) and values else str(values)
            for key, values in seq_feature.qualifiers.items()}


def _from_biopython(seq_feature, contig: str) -> Feature:
    location = seq_feature.location
    parts = sorted((int(p.start), int(p.end)) for p in location.parts)
    strands = {p.strand for p in location.parts}
    qualifiers = _qualifiers(seq_feature)
    name = next((qualifiers[k] for k in ("locus_tag", "gene", "protein_id", "label") if k in qualifiers), None)
    try:
        phase = int(qualifiers.get("codon_start", "1")) - 1
    except ValueError:
        phase = 0
    first = location.parts[0].strand
    return Feature(contig, tuple(parts), "-" if first == -1 else "+", seq_feature.type, name, qualifiers,
                   phase, len(strands) > 1)


def flat_features(path: str | Path, feature_types: Iterable[str] | None = None
                  ) -> Iterator[tuple[Feature, str]]:
    """``(feature, spliced sequence)`` of every feature of a GenBank/EMBL file, upper-case, strand-aware
    (Biopython's ``SeqFeature.extract``: compound locations joined, ``-`` strand reverse-complemented).

    ``feature_types``: keep only these types (e.g. ``{"CDS", "gene"}``); None keeps all but ``source``.
    """
    from Bio import SeqIO

    path = Path(path)
    fmt = detect_flat_format(path)
    if fmt is None or fmt.format not in ("genbank", "embl"):
        raise InputFormatError("expected a GenBank or EMBL file (features with their sequence)", path=path)
    wanted = None if feature_types is None else set(feature_types)
    ordinal = 0
    try:
        with open_text(path, fmt.compression) as handle:
            for record in SeqIO.parse(handle, fmt.format):
                ordinal += 1
                for seq_feature in record.features:
                    kept = seq_feature.type != "source" if wanted is None else seq_feature.type in wanted
                    if kept and seq_feature.location is not None:
                        feature = _from_biopython(seq_feature, record.id)
                        yield feature, str(seq_feature.extract(record.seq)).upper()
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as error:
        raise InputFormatError(f"cannot read the features of record #{ordinal + 1} ({error})",
                               path=path) from None


def _attributes(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.strip().split(";") if "=" in item)
    return {key.strip(): unquote(value.split(",")[0]) for key, value in pairs}


def _gff3_features(path: Path, wanted: set[str] | None) -> list[Feature]:
    groups: dict[tuple[str, str, str], Feature] = {}
    phases: dict[tuple[str, str, str], list[tuple[int, int, int]]] = {}
    for line, fields, start, end in gff3_rows(path, wanted):
        attributes = _attributes(fields[8])
        group = attributes.get("ID") or attributes.get("Parent") or f"line{line}"
        key = (unquote(fields[0]), fields[2], group)
        phase = int(fields[7]) if fields[7] in ("0", "1", "2") else 0
        phases.setdefault(key, []).append((start, end, phase))
        if key not in groups:
            name = attributes.get("ID") or attributes.get("Name") or attributes.get("Parent")
            groups[key] = Feature(key[0], (), _strand(fields[6], path, line), fields[2], name, attributes)
    for key, feature in groups.items():
        parts = sorted(phases[key])
        feature.parts = tuple((s, e) for s, e, _ in parts)
        feature.phase = parts[-1][2] if feature.strand == "-" else parts[0][2]  # the 5'-most part's phase
    return list(groups.values())


def read_features(path: str | Path, feature_types: Iterable[str] | None = None) -> list[Feature]:
    """Features of a GenBank/EMBL file (without their sequences) or of a GFF3 file (detected from content).

    ``feature_types``: keep only these types; None keeps all (GenBank/EMBL: all but ``source``).
    """
    path = Path(path)
    if is_flat_file(path):
        return [feature for feature, _ in flat_features(path, feature_types)]
    return _gff3_features(path, None if feature_types is None else set(feature_types))
