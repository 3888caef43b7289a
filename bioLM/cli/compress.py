"""``biolm compress --model DIR in.fa out.blm``: lossless arithmetic coding of a FASTA file with a model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("compress", help="compress a FASTA file losslessly with a model (.blm)")
    parser.add_argument("input", type=Path, help="FASTA file (plain or gzip)")
    parser.add_argument("output", type=Path, help="compressed container to write (.blm)")
    parser.add_argument("--model", type=Path, required=True, help="model directory (weights + tokenizer)")
    parser.add_argument("--lanes", type=int, default=8,
                        help="parallel lanes per record (speed vs a little ratio; default 8)")
    parser.add_argument("--min-lane-tokens", type=int, default=4096, help="fewest tokens per lane (default 4096)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (decompression uses the same; default 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.codec import CodecConfig, compress_fasta
    from bioLM.errors import ConfigError

    if args.lanes < 1 or args.min_lane_tokens < 1 or args.threads < 1:
        raise ConfigError("--lanes, --min-lane-tokens and --threads must be positive integers")
    config = CodecConfig(lanes=args.lanes, min_lane_tokens=args.min_lane_tokens, threads=args.threads)
    report = compress_fasta(args.model, args.input, args.output, config)
    print(json.dumps({"output": str(args.output), "records": report.records, "letters": report.bases,
                      "bytes": report.file_bytes, "bits_per_base": round(report.bits_per_base, 4),
                      "kb_per_s": round(report.bases / 1000 / max(report.seconds, 1e-9), 2)}))
    return 0
