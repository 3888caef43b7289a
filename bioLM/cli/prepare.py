"""``biolm prepare INPUT... --tokenizer KIND|DIR --out DIR``: FASTA/FASTQ to token shards + manifest.

Tokenizer flags come from the recipe's ``DataConfig`` fields, the rest from ``PrepareConfig`` (one source each:
:mod:`bioLM.cli.options`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bioLM.cli.options import add_options, build_options

TOKENIZER_OPTIONS = "bioLM.training.recipe:DataConfig"
PREPARE_OPTIONS = "bioLM.data.prepare:PrepareConfig"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prepare", help="tokenize FASTA/FASTQ files into training shards")
    parser.add_argument("inputs", nargs="+", type=Path, help="FASTA/FASTQ files or directories of them")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    add_options(parser.add_argument_group("tokenizer"), TOKENIZER_OPTIONS,
                only=["tokenizer", "alphabet", "k", "stride", "vocab_size"], flags={"k": ["-k", "--k"]})
    add_options(parser.add_argument_group("corpus"), PREPARE_OPTIONS, exclude=["alphabet"],
                flags={"n_run_threshold": ["--n-run-threshold", "--n-run"]})
    parser.add_argument("--verify", action="store_true",
                        help="hash every shard of an existing dataset (default: only those whose mtime changed); "
                             "one that fails is rebuilt")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.data.prepare import prepare_corpus
    from bioLM.data.tokenizer import resolve_tokenizer

    tokenizer = resolve_tokenizer(args.tokenizer, alphabet=args.alphabet, k=args.k, stride=args.stride,
                                  vocab_size=args.vocab_size, inputs=args.inputs)
    config = build_options(PREPARE_OPTIONS, args)
    manifest = prepare_corpus(args.inputs, tokenizer, args.out, config, verify=args.verify)
    summary = {split: {"tokens": info.tokens, "bases": info.bases, "records": info.records}
               for split, info in manifest.splits.items()}
    print(json.dumps({"dataset": str(args.out), **summary}))
    return 0
