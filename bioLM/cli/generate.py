"""``biolm generate``: sample sequences from a causal LM (KV cache, stop at <eos>, seeded) into FASTA."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bioLM.cli.options import add_options, add_runtime_arguments, build_options

OPTIONS = "bioLM.generation:GenerateOptions"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="sample sequences from a model into FASTA",
        description="Samples with Hugging Face generate (KV cache), stops at <eos>, reproducible with --seed. "
                    "Each FASTA description holds the settings and the sequence's mean log-likelihood.")
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    add_options(parser, OPTIONS, exclude=["id_prefix"], flags={"n": ["--n", "-n"]})
    parser.add_argument("--out", type=Path, default=None, help="FASTA output (default: stdout)")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.generation import generate

    options = build_options(OPTIONS, args)
    sequences = generate(args.model, args.out if args.out is not None else sys.stdout, options,
                         device=args.device, precision=args.precision)
    if args.out is not None:
        mean = sum(s.mean_log_likelihood for s in sequences) / len(sequences)
        print(f"wrote {len(sequences)} sequences to {args.out}; mean log-likelihood per token {mean:.4f}")
    return 0
