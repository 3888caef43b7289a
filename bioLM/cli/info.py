"""``biolm info FILE...``: format, size, length distribution, alphabet and composition of sequence files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

COLUMNS = ["file", "format", "compression", "records", "total", "min", "median", "max", "alphabet", "GC",
           "soft-masked", "non-canonical"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="summarize FASTA/FASTQ files (plain, gzip, bgzip)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="FASTA or FASTQ files")
    parser.add_argument("--json", action="store_true", help="print a JSON list (one object per file)")
    parser.add_argument("--alphabet", choices=["dna", "rna", "protein"], default=None,
                        help="alphabet to check letters against (default: detected from the first record)")
    parser.add_argument("--allow-duplicate-ids", action="store_true",
                        help="accept files in which several records share an id")
    parser.set_defaults(func=run)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _row(info: dict[str, Any]) -> list[str]:
    non_acgt = " ".join(f"{s}:{n}" for s, n in info["non_canonical"].items()) or "-"
    gc = "-" if info["gc"] is None else f"{info['gc']:.4f}"
    records = str(info["records"]) + (f" ({info['empty_records']} empty)" if info["empty_records"] else "")
    return [info["path"], info["format"], info["compression"], records, str(info["total_length"]),
            str(info["min_length"]), _number(info["median_length"]), str(info["max_length"]), info["alphabet"],
            gc, f"{info['soft_masked_fraction']:.4f}", non_acgt]


def format_table(infos: list[dict[str, Any]]) -> str:
    """Aligned text table, one row per file."""
    rows = [COLUMNS] + [_row(info) for info in infos]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def run(args: argparse.Namespace) -> int:
    from bioLM.io.info import file_info

    infos = [file_info(path, alphabet=args.alphabet, allow_duplicate_ids=args.allow_duplicate_ids)
             for path in args.files]
    print(json.dumps(infos, indent=2) if args.json else format_table(infos))
    return 0
