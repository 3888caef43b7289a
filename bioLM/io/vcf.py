"""VCF input, one module for ``embed --vcf`` and ``score-variants``: file check, header, contig map, REF check,
allele classification, and the variant window rule.

Coordinates: VCF ``POS`` is 1-based; here ``start = POS - 1`` (0-based) and the REF allele covers
``[start, start + len(REF))`` of the reference, like every integer interval in bioLM.

Rules, written once:

* **File.** Plain or bgzip VCF, or BCF (through pysam/htslib); plain gzip, a missing or unreadable file is an
  :class:`~bioLM.errors.InputFormatError` naming it. Records are located by file line (``line N``, from the
  count of ``#`` header lines) or, for BCF, by ordinal (``record N``).
* **Contigs.** A VCF contig is looked up in the reference as is, or through ``--contig-map`` (``vcf_name
  reference_name`` pairs); contigs missing from the reference are one error listing them, with a
  ``--contig-map`` hint when the names differ by a ``chr`` prefix.
* **REF check.** REF must equal the reference bases at ``[start, start + len(REF))`` (case-insensitive); a REF
  that runs past the contig end is reported as such (never as a mismatch against padding).
* **Alleles.** Symbolic ALTs (``<DEL>``, ``*``, breakends, ``.``) are skipped as ``symbolic``; ALTs with letters
  other than A/C/G/T/N as ``invalid_allele``. Both are counted, never silent.
* **Window.** ``window`` reference bases centred on the REF allele (``(window - len(REF)) // 2`` bases to its
  left), shifted inward near contig ends so the size stays ``window`` (never padded, never narrower than REF).
  The REF haplotype is the reference over ``[ws, we)``; the ALT haplotype is the same interval with REF
  replaced by ALT, so for an indel it is ``len(ALT) - len(REF)`` bases longer or shorter.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bioLM.errors import ContigNotFoundError, InputFormatError

_PLAIN_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_GZIP_MAGIC = b"\x1f\x8b"


def check_vcf_file(path: str | Path) -> Path:
    """The path of a readable VCF (plain or bgzip); a gzip file that is not bgzip is an error saying how to fix it."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError("VCF file not found", path=path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(18)
    except OSError as error:
        raise InputFormatError(f"cannot read the VCF ({error.strerror or error})", path=path) from None
    if head[:2] == _GZIP_MAGIC and not is_bgzf_header(head):
        raise InputFormatError(
            "gzip-compressed but not bgzip-compressed (htslib cannot read plain gzip VCFs); re-compress it: "
            f"`gunzip {path} && bgzip {path.with_suffix('')}` (bgzip ships with htslib/samtools), "
            "or just decompress it", path=path)
    return path


def is_bgzf_header(head: bytes) -> bool:
    """True when ``head`` (first 18 bytes) starts a BGZF block: gzip with FEXTRA and the 'BC' subfield."""
    return (len(head) >= 18 and head[:2] == _GZIP_MAGIC and head[3] & 4 == 4
            and head[12:14] == b"BC")


def count_header_lines(path: str | Path) -> int | None:
    """Number of '#' lines at the top of a plain or bgzip VCF (so record ``i`` is on line ``n + i + 1``);
    None for BCF (binary: records are then named by ordinal)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    count = 0
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as handle:
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


def record_location(header_lines: int | None, index: int) -> str:
    """``"line N"`` of record ``index`` (0-based) in a text VCF, ``"record N"`` (1-based) in a BCF."""
    return f"line {header_lines + index + 1}" if header_lines is not None else f"record {index + 1}"


def open_variant_file(path: str | Path):
    """``pysam.VariantFile`` of a checked VCF/BCF; a file htslib cannot read is an InputFormatError."""
    import pysam

    path = check_vcf_file(path)
    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as error:
        raise InputFormatError(f"cannot be read as VCF/BCF ({error})", path=path) from None


def iter_records(vcf: Path, header_out: list[str] | None = None
                 ) -> Iterator[tuple[int, object, object]]:
    """Yield ``(index, pysam record, pysam file)`` of every record (0-based index); at the end append the header text (with
    the contigs htslib added for undeclared names) to ``header_out``. A record htslib cannot parse, or text that
    is not UTF-8, is an :class:`InputFormatError` naming the record before it."""
    with open_variant_file(vcf) as handle:
        index = 0
        iterator = iter(handle)
        while True:
            try:
                record = next(iterator)
                record.contig, record.id, record.ref, record.alts  # noqa: B018 (decoded here: not UTF-8 is an error)
            except StopIteration:
                break
            except (OSError, ValueError) as error:  # UnicodeDecodeError included
                raise InputFormatError(f"malformed VCF record after record {index} ({error})", path=vcf) from None
            yield index, record, handle
            index += 1
        if header_out is not None:
            try:
                header_out.append(str(handle.header))
            except UnicodeDecodeError as error:
                raise InputFormatError(f"the VCF header is not UTF-8 text ({error})", path=vcf) from None


def reference_contig(name: str, contig_map: dict[str, str], genome) -> str | None:
    """The reference contig a VCF contig ``name`` means (through ``contig_map``), or None when absent."""
    target = contig_map.get(name, name)
    return target if target in genome else None


def ref_problem(genome, contig: str, start: int, ref: str, vcf_contig: str | None = None) -> str | None:
    """Why REF (at 0-based ``start`` on reference ``contig``) disagrees with the reference; None when it
    matches. The text reads ``chr1:21 REF=A reference=C`` or says that REF runs past the contig end."""
    name = vcf_contig or contig
    length = genome.lengths[contig]
    end = start + len(ref)
    if end > length:
        where = "starts" if start >= length else "runs"
        return (f"{name}:{start + 1} REF={ref} {where} past the end of contig {contig} (length {length}); the "
                "VCF was called against another assembly or the contig map is wrong")
    found = genome.fetch(contig, start, end)
    if found != ref.upper():
        return f"{name}:{start + 1} REF={ref} reference={found}"
    return None


def read_contig_map(path: str | Path) -> dict[str, str]:
    """Read a contig-name map: one ``vcf_name<whitespace>reference_name`` pair per line; '#' starts a comment."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError("contig map file not found (expected lines 'vcf_name reference_name')", path=path)
    mapping: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFormatError(f"cannot read the contig map ({error})", path=path) from None
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        if len(fields) != 2:
            raise InputFormatError(f"expected 2 columns 'vcf_name reference_name', found {len(fields)}: "
                                   f"{line.strip()!r}", path=path, line=number)
        if fields[0] in mapping and mapping[fields[0]] != fields[1]:
            raise InputFormatError(f"contig {fields[0]!r} is mapped twice ({mapping[fields[0]]!r} and "
                                   f"{fields[1]!r})", path=path, line=number)
        mapping[fields[0]] = fields[1]
    return mapping


def _renamed(name: str, reference: set[str]) -> str | None:
    """The reference contig that ``name`` most likely means (chr prefix added/removed, chrM vs MT)."""
    candidates = [name[3:]] if name.lower().startswith("chr") else ["chr" + name, "Chr" + name]
    candidates += {"chrM": ["MT"], "MT": ["chrM"], "M": ["chrM"]}.get(name, [])
    for candidate in candidates:
        if candidate in reference:
            return candidate
    return None


def missing_contig_error(missing: dict[str, str], reference: list[str], vcf: Path, fasta: Path
                         ) -> ContigNotFoundError:
    """An error for VCF contigs absent from the reference: lists them (with the first location using each,
    ``line N`` or ``record N``) and suggests a ``--contig-map`` when the names differ only by a 'chr' prefix."""
    reference_set = set(reference)
    shown = ", ".join(f"{name!r} ({where})" for name, where in list(missing.items())[:5])
    message = (f"{vcf}: {len(missing)} contig(s) of the VCF are not in the reference {fasta}: {shown}"
               f"{', ...' if len(missing) > 5 else ''}; the reference has {len(reference)} contig(s): "
               f"{', '.join(reference[:5])}{', ...' if len(reference) > 5 else ''}")
    renames = {name: _renamed(name, reference_set) for name in missing}
    found = {k: v for k, v in renames.items() if v is not None}
    if found:
        pairs = "; ".join(f"{k}\t{v}".replace("\t", " -> ") for k, v in list(found.items())[:3])
        message += (f". The names differ by a 'chr' prefix ({pairs}): pass --contig-map FILE with one "
                    "'vcf_name reference_name' pair per line (e.g. '1 chr1')")
    else:
        message += ". Check that the VCF was called against this reference, or pass --contig-map FILE"
    return ContigNotFoundError(message)


def skip_reason(alt: str | None) -> str | None:
    """Why an ALT allele cannot be scored, or None: 'symbolic' for <DEL>, *, breakends and missing ('.');
    'invalid_allele' for letters other than A, C, G, T, N."""
    if alt is None or alt in (".", "*", "") or alt.startswith("<") or "[" in alt or "]" in alt:
        return "symbolic"
    if not _PLAIN_ALLELE.match(alt):
        return "invalid_allele"
    return None


@dataclass(frozen=True)
class WindowPair:
    """REF and ALT haplotypes over the same reference interval ``[start, end)`` (0-based half-open).

    Both cover the same genomic span; ``alt`` differs from ``ref`` only by the allele, so for an indel it is
    ``len(ALT) - len(REF)`` bases longer or shorter.
    """

    start: int
    end: int
    ref: str
    alt: str


def window_interval(start: int, ref_length: int, window: int, contig_length: int) -> tuple[int, int]:
    """``[ws, we)`` of ``window`` bases centred on the REF allele ``[start, start+ref_length)``; shifted
    inward (not clipped) near contig ends so the size stays ``window``; never narrower than the allele."""
    total = max(window, ref_length)
    left = (total - ref_length) // 2
    ws = max(0, min(start - left, contig_length - total))
    return ws, min(contig_length, ws + total)


def window_pair(reference_bases: str, ws: int, start: int, ref: str, alt: str) -> WindowPair:
    """Build the REF/ALT haplotypes from the reference bases of ``[ws, ws + len(reference_bases))``."""
    offset = start - ws
    alt_bases = reference_bases[:offset] + alt.upper() + reference_bases[offset + len(ref):]
    return WindowPair(ws, ws + len(reference_bases), reference_bases, alt_bases)
