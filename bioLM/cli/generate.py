"""``biolm generate``: sample sequences from a causal LM (KV cache, stop at <eos>, seeded) into FASTA."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bioLM.hardware import add_runtime_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="sample sequences from a model into FASTA",
        description="Samples with Hugging Face generate (KV cache), stops at <eos>, reproducible with --seed. "
                    "Each FASTA description holds the settings and the sequence's mean log-likelihood.")
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    parser.add_argument("--n", type=int, default=10, help="number of sequences (default 10)")
    parser.add_argument("--max-length", type=int, default=500,
                        help="most tokens generated per sequence, prompt excluded (default 500)")
    parser.add_argument("--prompt", default="", help="sequence to continue (default: none, start at <bos>)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy")
    parser.add_argument("--top-k", type=int, default=0, help="top-k sampling (0: off)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1.0: off)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences generated together")
    parser.add_argument("--out", type=Path, default=None, help="FASTA output (default: stdout)")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.generate import GenerateOptions, generate

    options = GenerateOptions(n=args.n, max_length=args.max_length, prompt=args.prompt,
                              temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                              batch_size=args.batch_size)
    sequences = generate(args.model, args.out if args.out is not None else sys.stdout, options,
                         device=args.device, precision=args.precision)
    if args.out is not None:
        mean = sum(s.mean_log_likelihood for s in sequences) / len(sequences)
        print(f"wrote {len(sequences)} sequences to {args.out}; mean log-likelihood per token {mean:.4f}")
    return 0
