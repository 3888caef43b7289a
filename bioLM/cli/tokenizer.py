"""``biolm tokenizer train --kind bpe|char|kmer ... --out DIR``: build a tokenizer and save it to a directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bioLM.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokenizer", help="build tokenizers (char, k-mer, BPE)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="build (and for BPE train) a tokenizer, save it to --out")
    train.add_argument("files", nargs="*", type=Path, metavar="FASTA", help="training FASTA/FASTQ (BPE only)")
    train.add_argument("--kind", choices=["char", "kmer", "bpe"], required=True)
    train.add_argument("--alphabet", choices=["dna", "protein"], default="dna")
    train.add_argument("--k", type=int, default=6, help="k-mer size, 1-8 (kmer)")
    train.add_argument("--stride", type=int, default=None,
                       help="k-mer step (default k: non-overlapping; smaller values overlap, for embedding only)")
    train.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary size, specials included")
    train.add_argument("--chunk-size", type=int, default=4096, help="BPE piece length in letters")
    train.add_argument("--out", type=Path, required=True, help="output directory")
    train.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from bioLM.tokenization import build_tokenizer, padded_vocab_size, tokenizer_spec

    if args.kind == "bpe" and not args.files:
        raise ConfigError("--kind bpe needs training FASTA files: biolm tokenizer train --kind bpe FASTA... --out DIR")
    if args.kind != "bpe" and args.files:
        raise ConfigError(f"--kind {args.kind} needs no training data; drop the FASTA arguments")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is an existing file; the tokenizer is saved as a directory: choose "
                          "a new path or an existing directory")
    tokenizer = build_tokenizer(args.kind, alphabet=args.alphabet, k=args.k, stride=args.stride,
                                vocab_size=args.vocab_size, files=args.files or None, chunk_size=args.chunk_size)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(args.out))
    spec = tokenizer_spec(tokenizer)
    summary = {"out": str(args.out), "kind": spec.kind, "alphabet": spec.alphabet, "k": spec.k,
               "stride": spec.stride, "vocab_size": len(tokenizer), "padded_vocab_size": padded_vocab_size(tokenizer)}
    print(json.dumps(summary), file=sys.stdout)
    return 0
