"""``biolm decompress --model DIR in.blm out.fa``: restore a FASTA file compressed by ``biolm compress``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("decompress", help="restore a FASTA file from a .blm container")
    parser.add_argument("input", type=Path, help="compressed container (.blm)")
    parser.add_argument("output", type=Path, help="FASTA file to write (60-column lines)")
    parser.add_argument("--model", type=Path, required=True, help="the model directory that compressed it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.codec import decompress

    report = decompress(args.model, args.input, args.output)
    print(json.dumps({"output": str(args.output), "records": report.records, "letters": report.bases,
                      "kb_per_s": round(report.bases / 1000 / max(report.seconds, 1e-9), 2)}))
    return 0
