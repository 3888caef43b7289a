"""``biolm decompress [--model DIR] in.blm out.fa``: restore, byte for byte, a file made by ``biolm compress``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("decompress", help="restore a FASTA file from a .blm container (byte-exact)")
    parser.add_argument("input", type=Path, help="compressed container (.blm)")
    parser.add_argument("output", type=Path, help="file to write: the original bytes (uncompressed if the "
                                                 "input was gzip)")
    parser.add_argument("--model", type=Path, default=None,
                        help="the model directory that compressed it (not needed for --adaptive from random init)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.codec import decompress

    report = decompress(args.model, args.input, args.output)
    print(json.dumps({"output": str(args.output), "records": report.records, "letters": report.letters,
                      "bases": report.bases, "seconds": round(report.seconds, 3),
                      "kb_per_s": round(report.letters / 1000 / max(report.seconds, 1e-9), 2)}))
    return 0
