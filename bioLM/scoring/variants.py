"""Zero-shot variant scoring: ``score = LL(window with ALT) - LL(window with REF)`` under a causal LM, or a
masked LM's rule (``masked-llr``, GPN's; or ``pseudo-log-likelihood``, see :mod:`bioLM.scoring.masked`). The
rule is named in the output VCF header (``##biolm_score_variants=<...,scoring=RULE>`` and the INFO description)
and in the TSV's ``scoring`` column.

Method (documented choices):

* **Window.** ``window`` reference bases centred on the REF allele (shifted inward near contig ends). A causal
  model's probability of a base depends only on what lies to its left, so a variant changes the likelihood
  of the variant bases (through the left context) and of every base to its right (through the changed
  context). Centring gives the variant half a window of left context and lets the model "notice" the change
  over half a window of right flank.
* **Strands.** ``strands="both"`` (the default, for DNA) also scores the reverse complement of both windows
  and averages the two log-likelihood ratios: on the minus strand the right flank becomes left context, so
  the average uses context on both sides. ``"+"`` or ``"-"`` scores one strand (half the compute).
* **Indels.** REF and ALT windows span the *same reference interval* ``[ws, we)``: identical flanks, the
  ALT haplotype is ``len(ALT) - len(REF)`` bases longer or shorter. The score is the raw difference of
  total log-likelihoods (nats) with no length normalization, i.e. the log-probability the model gives the
  ALT haplotype relative to the REF haplotype of the same locus; an insertion therefore pays for its extra
  bases and a deletion does not pay for the bases it removes. The VCF representation (anchor base, left or
  right alignment) does not change the haplotypes, hence not the score.
* **Skips are counted, never silent.** Symbolic ALTs (``<DEL>``, ``*``, breakends, ``.``), ALTs with letters
  other than ACGTN, and windows longer than the model's context get a reason in ``BIOLM_SKIP``; REF
  mismatches are errors unless ``skip_ref_mismatch``, which marks the record's FILTER ``BIOLM_REF_MISMATCH``.

Output: the input VCF with INFO fields per ALT (Number=A) declared in the header, bgzip-compressed and
tabix-indexed through pysam (plain VCF when ``out`` does not end in ``.gz``), and an optional flat TSV.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pysam

from bioLM.alphabet import reverse_complement
from bioLM.errors import ConfigError, InputFormatError
from bioLM.io import Genome
from bioLM.io.vcf import (
    WindowPair,
    check_vcf_file,
    count_header_lines,
    iter_records,
    missing_contig_error,
    read_contig_map,
    record_location,
    ref_problem,
    reference_contig,
    skip_reason,
    window_interval,
    window_pair,
)
from bioLM.model.loading import LoadedModel, load
from bioLM.scoring.consequence import annotate_alleles, annotator_for, codon_table, header_line
from bioLM.scoring.likelihood import LikelihoodOptions, check_causal_tokenizer, encode, score_ids
from bioLM.scoring.masked import CAUSAL_RULE, masked_log_probs, pseudo_log_likelihoods, resolve_rule

logger = logging.getLogger(__name__)

FILTER_REF_MISMATCH = "BIOLM_REF_MISMATCH"
TSV_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "llr", "llr_fwd", "llr_rev", "scoring", "skip"]


@dataclass
class VariantScoringConfig:
    """Options of :func:`score_variants`."""

    window: int | None = None
    """Reference bases per window, centred on the REF allele (REF and ALT windows span the same interval).
    None: ``min(256, context - 17)`` for a model of ``context`` tokens (room for <bos> and a 16-base insertion
    with a per-base tokenizer)."""
    strands: Literal["both", "+", "-"] = "both"
    """Score the forward strand, the reverse complement, or both averaged (default)."""
    skip_ref_mismatch: bool = False
    """REF disagreeing with the reference: error (default), or skip the record with FILTER BIOLM_REF_MISMATCH."""
    contig_map: str | Path | None = None
    """File of 'vcf_name reference_name' pairs, for VCFs that name contigs differently (1 vs chr1)."""
    tsv: str | Path | None = None
    """Also write a flat table, one row per ALT allele."""
    max_tokens: int = 16384
    """Token budget per forward batch."""
    scoring: Literal["auto", "log-likelihood-ratio", "masked-llr", "pseudo-log-likelihood"] = "auto"
    """auto (causal: log-likelihood-ratio; masked: masked-llr), or pseudo-log-likelihood for a masked LM."""
    precision: str = "auto"
    """auto | bf16 | fp32 (see :mod:`bioLM.hardware`)."""
    chunk_records: int = 2048
    """VCF records scored together (bounds memory; output is streamed chunk by chunk)."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N."""
    progress: bool = True
    """tqdm progress bar over records."""
    max_listed: int = 10
    """REF mismatches listed in the error message."""
    annotation: str | Path | None = None
    """GFF3 or GenBank/EMBL file of CDS (contigs named as in the reference): adds each ALT's coding consequence,
    INFO/BIOLM_CSQ and a TSV ``csq`` column (:mod:`bioLM.scoring.consequence`)."""
    genetic_code: int = 1
    """NCBI translation table for the consequences (1 standard, 11 bacteria and plastids)."""
    rule: str = CAUSAL_RULE
    """The resolved scoring rule (set by :func:`score_variants` from ``scoring`` and the model's kind)."""

    def __post_init__(self) -> None:
        if self.strands not in ("both", "+", "-"):
            raise ConfigError(f"strands={self.strands!r} is not one of 'both', '+', '-'")
        if self.window is not None and self.window < 1:
            raise ConfigError(f"window={self.window} must be at least 1 base")
        if self.annotation is not None:
            codon_table(self.genetic_code)  # an unknown --genetic-code fails before any work


@dataclass
class VariantScoringSummary:
    """Counts of a run: records and ALT alleles read, alleles scored, alleles skipped by reason."""

    records: int = 0
    alleles: int = 0
    scored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    ref_mismatch_records: int = 0
    out: Path | None = None
    tsv: Path | None = None
    indexed: bool = False
    rule: str = CAUSAL_RULE


@dataclass
class _Plan:
    """What the validation pass learned: record count, header text, mismatching records, contig renames."""

    records: int
    header: str
    header_lines: int
    mismatched: set[int]
    contigs: dict[str, str]


def _validate(vcf: Path, genome, reference: Path, config: VariantScoringConfig,
              contig_map: dict[str, str]) -> _Plan:
    """First pass (no model): contigs exist, REF matches the reference. Raises before any scoring starts."""
    missing: dict[str, str] = {}
    mismatches: list[tuple[int, str]] = []
    mismatched: set[int] = set()
    contigs: dict[str, str] = {}
    records, headers = 0, []
    header_lines = count_header_lines(vcf)
    for index, record, _ in iter_records(vcf, headers):
        line = record_location(header_lines, index)
        records = index + 1
        contig = reference_contig(record.contig, contig_map, genome)
        if contig is None:
            missing.setdefault(record.contig, line)
            continue
        contigs[record.contig] = contig
        problem = ref_problem(genome, contig, record.start, record.ref, record.contig)
        if problem is not None:
            mismatched.add(index)
            mismatches.append((line, problem))
    header = headers[0]
    if missing:
        raise missing_contig_error(missing, genome.contigs, vcf, reference)
    if mismatches and not config.skip_ref_mismatch:
        listed = "; ".join(f"{line}: {text}" for line, text in mismatches[:config.max_listed])
        raise InputFormatError(
            f"{len(mismatches)} record(s) have a REF allele that disagrees with the reference {reference} "
            f"(first: {listed}). Check that the VCF was called against this reference, or pass "
            "--skip-ref-mismatch to skip them (counted, FILTER BIOLM_REF_MISMATCH)", path=vcf)
    return _Plan(records, header, header_lines if header_lines is not None else len(header.splitlines()),
                 mismatched, contigs)


def _output_header(header: str, config: VariantScoringConfig, model_dir: Path) -> str:
    strands = "mean of forward and reverse-complement strands" if config.strands == "both" else \
        f"strand {config.strands}"
    lines = [line for line in header.splitlines()
             if not line.startswith(("##INFO=<ID=BIOLM_", f"##FILTER=<ID={FILTER_REF_MISMATCH}", "##biolm"))]
    what = {CAUSAL_RULE: "LL(ALT window) - LL(REF window)",
            "masked-llr": "log p(ALT) - log p(REF) at the masked variant token (GPN rule)",
            "pseudo-log-likelihood": "PLL(ALT window) - PLL(REF window)"}[config.rule]
    ours = [f'##INFO=<ID=BIOLM_LLR,Number=A,Type=Float,Description="bioLM score ({config.rule}), nats: '
            f'{what}, {config.window} bp window, {strands}">',
            '##INFO=<ID=BIOLM_SKIP,Number=A,Type=String,Description="Why bioLM did not score this ALT '
            '(symbolic, invalid_allele, too_long, ref_mismatch, not_single_token); . when scored">']
    if config.strands == "both":
        ours += ['##INFO=<ID=BIOLM_LLR_FWD,Number=A,Type=Float,Description="bioLM LLR on the forward strand">',
                 '##INFO=<ID=BIOLM_LLR_REV,Number=A,Type=Float,Description="bioLM LLR on the reverse '
                 'complement">']
    ours.append(f'##FILTER=<ID={FILTER_REF_MISMATCH},Description="REF disagrees with the reference; '
                'not scored by bioLM">')
    if config.annotation is not None:
        ours.append(header_line(config.annotation, config.genetic_code))
    ours.append(f"##biolm_score_variants=<model={model_dir},window={config.window},strands={config.strands},"
                f"scoring={config.rule}>")
    chrom = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    return "\n".join(lines[:chrom] + ours + lines[chrom:]) + "\n"


@dataclass
class _Allele:
    record: int
    alt: int
    pair: WindowPair | None
    skip: str | None
    llr: tuple[float, float] = (float("nan"), float("nan"))  # forward, reverse
    csq: str | None = None  # coding consequence, with --annotation (bioLM.scoring.consequence)


def _plan_chunk(chunk, plan: _Plan, genome, config: VariantScoringConfig) -> list[list[_Allele]]:
    out = []
    for index, record in chunk:
        alleles = []
        contig = plan.contigs[record.contig]
        if index in plan.mismatched:
            out.append([_Allele(index, a, None, "ref_mismatch") for a in range(max(1, len(record.alts or ())))])
            continue
        if not record.alts:  # ALT '.': a monomorphic site, nothing to score (counted, no INFO written)
            out.append([_Allele(index, 0, None, "no_alt")])
            continue
        ws, we = window_interval(record.start, len(record.ref), config.window, genome.lengths[contig])
        bases = genome.fetch(contig, ws, we)
        for a, alt in enumerate(record.alts):
            reason = skip_reason(alt)
            pair = window_pair(bases, ws, record.start, record.ref, alt) if reason is None else None
            alleles.append(_Allele(index, a, pair, reason))
        out.append(alleles)
    return out


def _strand_sequences(pair: WindowPair, strands: str) -> list[str]:
    """[ref+, alt+, ref-, alt-] with None-free slots only for the strands asked."""
    forward = [pair.ref, pair.alt] if strands in ("both", "+") else []
    reverse = [reverse_complement(pair.ref), reverse_complement(pair.alt)] if strands in ("both", "-") else []
    return forward + reverse


def _score_chunk(alleles: list[list[_Allele]], loaded: LoadedModel, config: VariantScoringConfig) -> None:
    """Fill ``llr`` of every scorable allele in place (too-long windows get skip='too_long')."""
    scorable = [a for group in alleles for a in group if a.skip is None]
    wanted = {s: None for a in scorable for s in _strand_sequences(a.pair, config.strands)}
    distinct = list(wanted)
    ids = dict(zip(distinct, encode(loaded.tokenizer, distinct)))
    limit = None if loaded.context is None else loaded.context - len(loaded.prefix) - len(loaded.suffix)
    fits = {s: limit is None or len(i) <= limit for s, i in ids.items()}
    if config.rule == "masked-llr":
        _masked_llr(scorable, ids, fits, loaded, config)
        return
    keep = [s for s in distinct if fits[s]]
    if config.rule == CAUSAL_RULE:
        sums, _ = score_ids(loaded.model, [ids[s] for s in keep], bos_id=loaded.prefix[0] if loaded.prefix else None,
                            pad_id=loaded.pad_id, options=LikelihoodOptions(max_tokens=config.max_tokens,
                                                                            precision=loaded.precision))
    else:
        sums = pseudo_log_likelihoods(loaded, [ids[s] for s in keep], config.max_tokens)
    ll = {s: float(v) for s, v in zip(keep, sums)}
    for allele in scorable:
        sequences = _strand_sequences(allele.pair, config.strands)
        if not all(fits[s] for s in sequences):
            allele.skip = "too_long"
            continue
        _set_llr(allele, [ll[sequences[k + 1]] - ll[sequences[k]] for k in range(0, len(sequences), 2)], config)


def _set_llr(allele: _Allele, diffs: list[float], config: VariantScoringConfig) -> None:
    if config.strands == "both":
        allele.llr = (diffs[0], diffs[1])
    elif config.strands == "+":
        allele.llr = (diffs[0], float("nan"))
    else:
        allele.llr = (float("nan"), diffs[0])


def _masked_llr(scorable: list[_Allele], ids: dict[str, np.ndarray], fits: dict[str, bool], loaded: LoadedModel,
                config: VariantScoringConfig) -> None:
    """GPN's rule: mask the one token where the REF and ALT windows differ; log p(ALT token) - log p(REF token)."""
    items, owners = [], []
    for allele in scorable:
        sequences = _strand_sequences(allele.pair, config.strands)
        if not all(fits[s] for s in sequences):
            allele.skip = "too_long"
            continue
        pairs = [(ids[sequences[k]], ids[sequences[k + 1]]) for k in range(0, len(sequences), 2)]
        if any(len(r) != len(a) or int((r != a).sum()) != 1 for r, a in pairs):
            allele.skip = "not_single_token"  # indels, or a change spanning tokens: use pseudo-log-likelihood
            continue
        for ref, alt in pairs:
            position = int(np.flatnonzero(ref != alt)[0])
            items.append((ref, position, [int(ref[position]), int(alt[position])]))
        owners.append((allele, len(pairs)))
    values = masked_log_probs(loaded, [i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
                              config.max_tokens)
    k = 0
    for allele, count in owners:
        _set_llr(allele, [float(v[1] - v[0]) for v in values[k:k + count]], config)
        k += count


def _value(x: float) -> str:
    return "." if np.isnan(x) else f"{x:.4f}"


def _combined(allele: _Allele) -> float:
    values = [v for v in allele.llr if not np.isnan(v)]
    return float(np.mean(values)) if values and allele.skip is None else float("nan")


def _vcf_line(record, alleles: list[_Allele], config: VariantScoringConfig) -> str:
    columns = str(record).rstrip("\n").split("\t")
    if any(a.skip == "ref_mismatch" for a in alleles):
        columns[6] = FILTER_REF_MISMATCH if columns[6] in (".", "PASS") else f"{columns[6]};{FILTER_REF_MISMATCH}"
    if not record.alts:  # ALT '.': Number=A fields have no value to carry
        return "\t".join(columns) + "\n"
    info = [] if columns[7] == "." else [x for x in columns[7].split(";") if not x.startswith("BIOLM_")]
    info.append("BIOLM_LLR=" + ",".join(_value(_combined(a)) for a in alleles))
    if config.strands == "both":
        info.append("BIOLM_LLR_FWD=" + ",".join(_value(a.llr[0] if a.skip is None else np.nan) for a in alleles))
        info.append("BIOLM_LLR_REV=" + ",".join(_value(a.llr[1] if a.skip is None else np.nan) for a in alleles))
    info.append("BIOLM_SKIP=" + ",".join(a.skip or "." for a in alleles))
    if config.annotation is not None:
        info.append("BIOLM_CSQ=" + ",".join(a.csq or "." for a in alleles))
    columns[7] = ";".join(info)
    return "\t".join(columns) + "\n"


def _tsv_rows(record, alleles: list[_Allele], rule: str, csq: bool = False) -> str:
    rows = []
    for allele in alleles:
        alt = (record.alts or (".",))[allele.alt] or "."
        values = [record.contig, str(record.pos), record.id or ".", record.ref, alt,
                  _value(_combined(allele)), _value(allele.llr[0] if allele.skip is None else np.nan),
                  _value(allele.llr[1] if allele.skip is None else np.nan), rule, allele.skip or ""]
        values += [allele.csq or "."] if csq else []
        rows.append("\t".join(values) + "\n")
    return "".join(rows)


class _Writer:
    """Writes the output VCF (bgzip through pysam, or plain) and the TSV to temporary names; ``commit`` renames
    them into place and tabix-indexes the VCF."""

    def __init__(self, out: Path, tsv: Path | None, header: str, csq: bool = False) -> None:
        self.out, self.tsv, self.csq = out, tsv, csq
        self.compressed = out.name.endswith((".gz", ".bgz"))
        self._tmp_out = out.with_name(out.name + ".tmp")
        self._files = contextlib.ExitStack()
        self._vcf = self._files.enter_context(pysam.BGZFile(str(self._tmp_out), "wb") if self.compressed
                                              else open(self._tmp_out, "wb"))  # noqa: SIM115 (ExitStack)
        self._vcf.write(header.encode())
        self._tmp_tsv = tsv.with_name(tsv.name + ".tmp") if tsv else None
        self._tsv = (self._files.enter_context(open(self._tmp_tsv, "w"))  # noqa: SIM115 (ExitStack closes it)
                     if self._tmp_tsv else None)
        if self._tsv:
            self._tsv.write("\t".join(TSV_COLUMNS + ["csq"] * csq) + "\n")

    def write(self, record, alleles: list[_Allele], config: VariantScoringConfig) -> None:
        self._vcf.write(_vcf_line(record, alleles, config).encode())
        if self._tsv:
            self._tsv.write(_tsv_rows(record, alleles, config.rule, self.csq))

    def abort(self) -> None:
        self._files.close()
        self._tmp_out.unlink(missing_ok=True)
        if self._tmp_tsv:
            self._tmp_tsv.unlink(missing_ok=True)

    def commit(self) -> bool:
        self._files.close()
        os.replace(self._tmp_out, self.out)
        if self._tmp_tsv:
            os.replace(self._tmp_tsv, self.tsv)
        if not self.compressed:
            return False
        try:
            pysam.tabix_index(str(self.out), preset="vcf", force=True)
        except (OSError, ValueError) as error:
            logger.warning("%s: not tabix-indexed (%s); sort the input VCF (bcftools sort) to get an index",
                           self.out, error)
            return False
        return True


def _chunks(vcf: Path, size: int) -> Iterator[list[tuple[int, object]]]:
    chunk = []
    for index, record, _ in iter_records(vcf):
        chunk.append((index, record))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count(summary: VariantScoringSummary, alleles: list[_Allele]) -> None:
    for allele in alleles:
        summary.alleles += 1
        if allele.skip is None:
            summary.scored += 1
        else:
            summary.skipped[allele.skip] = summary.skipped.get(allele.skip, 0) + 1


def default_window(loaded: LoadedModel) -> int:
    """``min(256, context - 17)`` bases for a model of ``context`` tokens (256 when the config does not say);
    a masked model also leaves room for its trailing special tokens."""
    context = loaded.context
    return 256 if context is None else max(1, min(256, context - 17 - len(loaded.suffix)))


def score_variants(model_dir: str | Path, reference: str | Path, vcf: str | Path, out: str | Path,
                   config: VariantScoringConfig | None = None, **options) -> VariantScoringSummary:
    """Score every ALT allele of ``vcf`` against ``reference`` with the causal LM in ``model_dir``.

    ``options`` override fields of :class:`VariantScoringConfig` (``window=``, ``strands=``, ...). Writes
    ``out`` (records in input order, INFO BIOLM_LLR per ALT) and returns the counts. Raises
    :class:`~bioLM.errors.InputFormatError` / :class:`~bioLM.errors.ContigNotFoundError` before any scoring
    when the VCF does not fit the reference.
    """
    known = {f.name for f in fields(VariantScoringConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}; valid: {sorted(known)}")
    config = config or VariantScoringConfig(**options)
    vcf, reference, out, model_dir = check_vcf_file(vcf), Path(reference), Path(out), Path(model_dir)
    contig_map = read_contig_map(config.contig_map) if config.contig_map else {}
    with Genome(reference) as genome:
        plan = _validate(vcf, genome, reference, config, contig_map)
        loaded = load(model_dir, device=config.device, precision=config.precision)
        config = replace(config, rule=resolve_rule(config.scoring, loaded.kind, "score-variants"))
        if loaded.kind == "causal":
            check_causal_tokenizer(loaded.tokenizer)
        if config.window is None:
            config = replace(config, window=default_window(loaded))
        summary = VariantScoringSummary(records=plan.records, ref_mismatch_records=len(plan.mismatched),
                                        rule=config.rule)
        writer = _Writer(out, Path(config.tsv) if config.tsv else None,
                         _output_header(plan.header, config, model_dir), csq=config.annotation is not None)
        try:
            _score_all(vcf, plan, genome, loaded, config, writer, summary)
            if summary.scored == 0 and summary.records > 0:
                skipped = ", ".join(f"{k}={v}" for k, v in sorted(summary.skipped.items())) or "no ALT alleles"
                hint = " (too_long: lower --window)" if "too_long" in summary.skipped else ""
                raise InputFormatError(f"no variant was scored: {summary.records} record(s), skipped: "
                                       f"{skipped}{hint}; nothing written", path=vcf)
        except BaseException:
            writer.abort()
            raise
        summary.indexed = writer.commit()
    summary.out, summary.tsv = out, writer.tsv
    logger.info("scored %d of %d ALT alleles in %d records; skipped: %s", summary.scored, summary.alleles,
                summary.records, summary.skipped or "none")
    return summary


def _score_all(vcf: Path, plan: _Plan, genome, loaded: LoadedModel, config: VariantScoringConfig,
               writer: _Writer, summary: VariantScoringSummary) -> None:
    from tqdm.auto import tqdm

    annotator = annotator_for(config.annotation, genome, config.genetic_code)  # None without --annotation
    verbosity = pysam.set_verbosity(0)  # htslib warned about undeclared contigs in the first pass already
    try:
        with tqdm(total=plan.records, desc="variants", unit="rec", disable=not config.progress) as bar:
            for chunk in _chunks(vcf, config.chunk_records):
                alleles = _plan_chunk(chunk, plan, genome, config)
                _score_chunk(alleles, loaded, config)
                annotate_alleles(annotator, chunk, alleles, plan.contigs)
                for (_, record), group in zip(chunk, alleles):
                    writer.write(record, group, config)
                    _count(summary, group)
                bar.update(len(chunk))
    finally:
        pysam.set_verbosity(verbosity)
