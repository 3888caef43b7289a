"""``biolm demo``: the README's main job on the defaults.

Generates a small synthetic DNA corpus (or uses the FASTA files given), summarizes it with ``biolm info``,
pretrains the ``dna-char-tiny`` recipe on it, and reports validation bits per base against gzip/bzip2/xz.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "dna-char-tiny.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="pretrain the tiny DNA recipe end to end (the README's main job)")
    parser.add_argument("fasta", nargs="*", type=Path, help="FASTA files (default: a generated corpus)")
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="pretraining recipe YAML")
    parser.add_argument("overrides", nargs=argparse.REMAINDER, help="recipe overrides key=value")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.io.info import file_info
    from bioLM.synthetic import demo_corpus
    from bioLM.training.pretraining import pretrain_from_files

    args.out.mkdir(parents=True, exist_ok=True)
    files = list(args.fasta) or [demo_corpus(args.out / "demo_corpus.fa")]
    for path in files:
        logger.info("input %s", json.dumps(file_info(path)))
    model_dir = pretrain_from_files(args.recipe, files, args.out, overrides=args.overrides)
    print(f"model exported to {model_dir}")
    return 0
