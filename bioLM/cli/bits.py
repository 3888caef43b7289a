"""``biolm bits --model DIR FILE...``: theoretical bits per base of FASTA files next to gzip, bzip2, xz, 2-bit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bioLM.cli.options import add_runtime_arguments

COLUMNS = ("bits_per_base", "model_bits_per_base", "gzip-9", "bzip2-9", "xz-9e", "2bit")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bits", help="theoretical bits per base of FASTA files vs classic compressors")
    parser.add_argument("files", nargs="+", type=Path, help="FASTA files (plain or gzip)")
    parser.add_argument("--model", type=Path, required=True,
                        help="causal LM directory (bioLM's or any Hugging Face causal LM whose tokens spell DNA)")
    parser.add_argument("--lanes", type=int, default=8, help="lanes, as in `biolm compress` (default 8)")
    parser.add_argument("--min-lane-tokens", type=int, default=4096, help="as in `biolm compress`")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def format_table(rows: list[dict]) -> str:
    """Fixed-width table: one row per file, bits per base columns."""
    header = f"{'file':<32} {'bases':>10} " + " ".join(f"{c:>19}" for c in COLUMNS)
    lines = [header]
    for row in rows:
        name = Path(row["path"]).name[:32]
        lines.append(f"{name:<32} {row['bases']:>10} " + " ".join(f"{row[c]:>19.4f}" for c in COLUMNS))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.bits import BitsConfig, BitsModel, file_bits
    from bioLM.model.loading import load

    coding = BitsModel(load(args.model, device=args.device, precision=args.precision))
    config = BitsConfig(lanes=args.lanes, min_lane_tokens=args.min_lane_tokens)
    rows = [file_bits(coding, path, config).as_dict() for path in args.files]
    if args.json:
        print(json.dumps({"model": str(args.model), "files": rows}))
    else:
        print(format_table(rows))
    return 0
