"""``biolm score-variants``: zero-shot scores of VCF variants (LL with ALT minus LL with REF) under a causal LM.

Options are the fields of ``VariantScoringConfig`` (:mod:`bioLM.cli.options`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bioLM.cli.options import add_options, add_runtime_arguments, build_options

OPTIONS = "bioLM.scoring.variants:VariantScoringConfig"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score-variants", help="score VCF variants against a reference with a causal or masked LM",
        description="For every ALT allele, averaged over both strands by default (nats). Causal LM: "
                    "log-likelihood of the window with ALT minus with REF. Masked LM: log p(ALT) - log p(REF) at "
                    "the masked variant token (GPN's rule; SNVs), or --scoring pseudo-log-likelihood (also "
                    "indels). Writes a bgzipped, tabix-indexed VCF with INFO/BIOLM_LLR per ALT; the rule is "
                    "named in the header. Scoring no variant at all is an error.")
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    parser.add_argument("--reference", type=Path, required=True, help="reference FASTA (plain or bgzip)")
    parser.add_argument("--vcf", type=Path, required=True, help="input VCF (plain or bgzip)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output VCF (.vcf.gz: bgzip + tabix index; .vcf: plain)")
    add_options(parser, OPTIONS, exclude=["precision", "device", "progress", "max_listed", "rule"])
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.variants import score_variants

    summary = score_variants(args.model, args.reference, args.vcf, args.out, build_options(OPTIONS, args))
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(summary.skipped.items())) or "none"
    print(f"{summary.records} records, {summary.alleles} ALT alleles: {summary.scored} scored, skipped: "
          f"{skipped}; wrote {summary.out}{' (+ .tbi)' if summary.indexed else ''}"
          f"{f' and {summary.tsv}' if summary.tsv else ''} (scoring: {summary.rule})")
    return 0
