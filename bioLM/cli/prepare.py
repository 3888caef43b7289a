"""``biolm prepare INPUT... --tokenizer KIND|DIR --out DIR``: FASTA/FASTQ to token shards + manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prepare", help="tokenize FASTA/FASTQ files into training shards")
    parser.add_argument("inputs", nargs="+", type=Path, help="FASTA/FASTQ files or directories of them")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    parser.add_argument("--tokenizer", default="char",
                        help="tokenizer directory, or kind: char, kmer, bpe (default: char)")
    parser.add_argument("--alphabet", default="dna", choices=["dna", "rna", "protein"])
    parser.add_argument("-k", type=int, default=6, help="k-mer length (kind kmer)")
    parser.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary size (kind bpe)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="fraction of bases held out")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    parser.add_argument("--split-by", default="auto", choices=["auto", "record", "region"],
                        help="hold out whole records, or the tail of every record (default auto: records "
                             "when there are two or more)")
    parser.add_argument("--window-bases", type=int, default=1_000_000, help="tokenize long records in windows")
    parser.add_argument("--n-run", type=int, default=100, help="N runs at least this long split sequences")
    parser.add_argument("--soft-mask", action="store_true", help="keep the soft-mask as a parallel array")
    parser.add_argument("--verify", action="store_true",
                        help="hash every shard of an existing dataset (default: only those whose mtime changed); "
                             "one that fails is rebuilt")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.data.prepare import PrepareConfig, expand_inputs, prepare_corpus
    from bioLM.tokenization import build_tokenizer, load_tokenizer

    if Path(args.tokenizer).is_dir():
        tokenizer = load_tokenizer(args.tokenizer)
    else:
        files = [str(p) for p in expand_inputs(args.inputs)] if args.tokenizer == "bpe" else None
        tokenizer = build_tokenizer(args.tokenizer, alphabet=args.alphabet, k=args.k,
                                    vocab_size=args.vocab_size, files=files)
    config = PrepareConfig(val_fraction=args.val_fraction, seed=args.seed, split_by=args.split_by,
                           window_bases=args.window_bases,
                           n_run_threshold=args.n_run, soft_mask=args.soft_mask, alphabet=args.alphabet)
    manifest = prepare_corpus(args.inputs, tokenizer, args.out, config, verify=args.verify)
    summary = {split: {"tokens": info.tokens, "bases": info.bases, "records": info.records}
               for split, info in manifest.splits.items()}
    print(json.dumps({"dataset": str(args.out), **summary}))
    return 0
