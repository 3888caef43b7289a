"""``biolm score-variants``: zero-shot scores of VCF variants (LL with ALT minus LL with REF) under a causal LM."""

from __future__ import annotations

import argparse
from pathlib import Path

from bioLM.hardware import add_runtime_arguments


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
    parser.add_argument("--tsv", type=Path, default=None, help="also write a flat table, one row per ALT")
    parser.add_argument("--window", type=int, default=None,
                        help="reference bases per window (default: min(256, model context - 17))")
    parser.add_argument("--strands", choices=["both", "+", "-"], default="both",
                        help="score the forward strand, the reverse complement, or both averaged (default)")
    parser.add_argument("--skip-ref-mismatch", action="store_true",
                        help="skip (and count) records whose REF disagrees with the reference instead of failing")
    parser.add_argument("--contig-map", type=Path, default=None,
                        help="file of 'vcf_name reference_name' pairs (e.g. '1 chr1')")
    parser.add_argument("--annotation", type=Path, default=None,
                        help="GFF3 or GenBank/EMBL file with CDS features (contigs named as in the reference): add "
                             "each ALT's coding consequence (INFO/BIOLM_CSQ, TSV column csq)")
    parser.add_argument("--genetic-code", type=int, default=1,
                        help="NCBI translation table for --annotation (default: 1 standard; 11 bacteria, plastids)")
    parser.add_argument("--max-tokens", type=int, default=16384, help="token budget per batch")
    parser.add_argument("--scoring", default="auto",
                        choices=["auto", "log-likelihood-ratio", "masked-llr", "pseudo-log-likelihood"],
                        help="auto: log-likelihood-ratio (causal LM) or masked-llr (masked LM); "
                             "pseudo-log-likelihood (masked LM): one pass per token, scores indels too")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.variants import score_variants

    summary = score_variants(args.model, args.reference, args.vcf, args.out, window=args.window,
                             strands=args.strands, skip_ref_mismatch=args.skip_ref_mismatch,
                             contig_map=args.contig_map, tsv=args.tsv, max_tokens=args.max_tokens,
                             precision=args.precision, device=args.device, scoring=args.scoring,
                             annotation=args.annotation, genetic_code=args.genetic_code)
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(summary.skipped.items())) or "none"
    print(f"{summary.records} records, {summary.alleles} ALT alleles: {summary.scored} scored, skipped: "
          f"{skipped}; wrote {summary.out}{' (+ .tbi)' if summary.indexed else ''}"
          f"{f' and {summary.tsv}' if summary.tsv else ''} (scoring: {summary.rule})")
    return 0
