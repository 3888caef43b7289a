"""``biolm embed``: embeddings of a FASTA, of BED/GFF3 regions, or of ref/alt windows around VCF variants."""

from __future__ import annotations

import argparse
import logging

from bioLM.errors import ConfigError
from bioLM.hardware import add_runtime_arguments

logger = logging.getLogger(__name__)

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
    parser.add_argument("--model", required=True,
                        help="model directory: bioLM's, or any Hugging Face causal or masked LM (ESM, BERT, ...)")
    parser.add_argument("--reference", help="indexed reference FASTA for --regions or --vcf")
    parser.add_argument("--regions", help="BED or GFF3 regions on --reference (strand-aware), or a GenBank/EMBL "
                        "file: its features on its own sequence (no --reference; joined locations spliced)")
    parser.add_argument("--feature-types", help="GFF3 / GenBank / EMBL feature types to keep, comma-separated, e.g. "
                        "CDS,gene,rRNA (default: all; GenBank/EMBL: all but source)")
    parser.add_argument("--vcf", help="VCF/BCF: ref and alt windows centred on each variant")
    parser.add_argument("--variant-window", type=int,
                        help="bases per variant window, centred on REF as in score-variants (default: the model's "
                             "context minus its special tokens)")
    parser.add_argument("--contig-map", help="file of 'vcf_name reference_name' pairs (e.g. '1 chr1')")
    parser.add_argument("--skip-ref-mismatch", action="store_true",
                        help="skip and count variants whose REF disagrees with the reference (default: error)")
    parser.add_argument("--out", required=True, help="output file: .npy (+ .ids.tsv), .npz, .parquet or .h5ad")
    parser.add_argument("--format", dest="fmt", choices=["npy", "npz", "parquet", "h5ad"],
                        help="output format (default: from the --out extension)")
    parser.add_argument("--layers", default="-1", help="comma-separated layer indices or all, written --layers=-1,-2 (default: -1)")
    parser.add_argument("--pooling", default="mean",
                        choices=["mean", "max", "last", "first", "bos", "per-token", "per-base"],
                        help="how to reduce tokens (default: mean, padding excluded); per-token/per-base: .npz")
    parser.add_argument("--window-overlap", type=int,
                        help="embed sequences longer than the context in windows overlapping by N tokens "
                             "(overlaps averaged); without it such sequences are an error")
    parser.add_argument("--reverse-complement-average", action="store_true",
                        help="average the embeddings of both strands (DNA)")
    parser.add_argument("--max-tokens", type=int, default=16384, help="token budget per batch (default: 16384)")
    add_runtime_arguments(parser)
    parser.add_argument("--shard-size", type=int, default=10_000, help="records per output shard (default: 10000)")
    parser.add_argument("--resume", action="store_true", help="keep the finished shards of an interrupted run")
    parser.add_argument("--keep-shards", action="store_true", help="keep the shard directory after merging")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.embedding.embed import EmbedOptions
    from bioLM.embedding.job import EmbedJob, embed_to_file

    options = EmbedOptions(max_tokens=args.max_tokens, window_overlap=args.window_overlap,
                           reverse_complement_average=args.reverse_complement_average,
                           precision=args.precision, progress=True)
    job = EmbedJob(model=args.model, out=args.out, fasta=args.fasta, reference=args.reference,
                   regions=args.regions, vcf=args.vcf, layers=parse_layers(args.layers), pooling=args.pooling,
                   fmt=args.fmt, resume=args.resume, shard_size=args.shard_size,
                   variant_window=args.variant_window, skip_ref_mismatch=args.skip_ref_mismatch,
                   feature_types=args.feature_types.split(",") if args.feature_types else None,
                   keep_shards=args.keep_shards, contig_map=args.contig_map, device=args.device,
                   options=options)
    summary = embed_to_file(job)
    logger.info("wrote %d rows to %s (%d shards, %d resumed)", summary.rows,
                ", ".join(map(str, summary.paths)), summary.shards, summary.shards_resumed)
    if summary.variants is not None and (summary.variants.ref_mismatch or summary.variants.symbolic):
        logger.info("skipped alleles: %d REF mismatches, %d symbolic", summary.variants.ref_mismatch,
                    summary.variants.symbolic)
    return 0
