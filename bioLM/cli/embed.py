"""``biolm embed``: embeddings of a FASTA, of BED/GFF3 regions, or of ref/alt windows around VCF variants."""

from __future__ import annotations

import argparse
import logging

from bioLM.cli.options import add_options, add_runtime_arguments, build_options
from bioLM.errors import ConfigError

logger = logging.getLogger(__name__)

JOB = "bioLM.embedding.job:EmbedJob"
OPTIONS = "bioLM.embedding.embed:EmbedOptions"

EPILOG = """examples:
  biolm embed --model runs/x/export seqs.fa --out emb.h5ad
  biolm embed --model DIR --reference ref.fa --regions genes.gff3 --out emb.parquet --layers=-1,-2
  biolm embed --model DIR --regions genome.gbk --feature-types CDS,rRNA --out cds.parquet
  biolm embed --model DIR --reference ref.fa --vcf calls.vcf.gz --out variants.npz --skip-ref-mismatch
  biolm embed --model DIR chr22.fa --out bases.npz --pooling per-base --window-overlap 64
"""


def parse_layers(text: str) -> list[int] | str:
    """``"-1,-2"`` -> ``[-1, -2]``; ``"all"`` stays ``"all"``."""
    if text.strip().lower() == "all":
        return "all"
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--layers {text!r}: give comma-separated integers (e.g. -1,-2) or 'all'") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed", help="extract embeddings (FASTA, regions of a reference, VCF variants)",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fasta", nargs="?", help="FASTA/FASTQ of sequences (plain, gzip or bgzip)")
    add_options(parser, JOB, only=["model"], required=["model"],
                help={"model": "model directory: bioLM's, or any Hugging Face causal or masked LM (ESM, BERT, ...)"})
    add_options(parser.add_argument_group("inputs"), JOB,
                only=["reference", "regions", "feature_types", "vcf", "variant_window", "contig_map",
                      "skip_ref_mismatch"])
    output = parser.add_argument_group("output")
    add_options(output, JOB, only=["out", "fmt", "shard_size", "resume", "keep_shards"], required=["out"],
                flags={"fmt": ["--format"]})
    output.add_argument("--layers", default="-1",
                        help="comma-separated layer indices or all, written --layers=-1,-2 (default: -1)")
    output.add_argument("--pooling", default="mean",
                        choices=["mean", "max", "last", "first", "bos", "per-token", "per-base"],
                        help="how to reduce tokens (default: mean, padding excluded); per-token/per-base: .npz")
    add_options(parser.add_argument_group("model run"), OPTIONS,
                only=["max_tokens", "max_batch_size", "window_overlap", "reverse_complement_average"])
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.embedding.job import embed_to_file

    options = build_options(OPTIONS, args, progress=True)
    job = build_options(JOB, args, layers=parse_layers(args.layers), options=options)
    summary = embed_to_file(job)
    logger.info("wrote %d rows to %s (%d shards, %d resumed)", summary.rows,
                ", ".join(map(str, summary.paths)), summary.shards, summary.shards_resumed)
    if summary.variants is not None and (summary.variants.ref_mismatch or summary.variants.symbolic):
        logger.info("skipped alleles: %d REF mismatches, %d symbolic", summary.variants.ref_mismatch,
                    summary.variants.symbolic)
    return 0
