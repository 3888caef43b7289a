"""``biolm demo``: the README's main job on the defaults.

Generates a small synthetic DNA corpus (or uses the FASTA files given), summarizes it as ``biolm info`` does,
pretrains the ``dna-char-tiny`` recipe on it, exports a Hugging Face model directory, and prints the
validation bits per base next to what gzip -9, bzip2 -9 and xz -9e achieve on the whole corpus.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "dna-char-tiny.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="pretrain the tiny DNA recipe end to end (the README's main job)")
    parser.add_argument("fasta", nargs="*", type=Path, help="FASTA files (default: a generated corpus)")
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="pretraining recipe YAML")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override, e.g. --set trainer.max_steps=100 (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.classic import classic_bits_per_base
    from bioLM.io import read_fastx
    from bioLM.io.info import file_info
    from bioLM.synthetic import demo_corpus
    from bioLM.training.export import SUMMARY_FILE
    from bioLM.training.pretraining import pretrain_from_files

    args.out.mkdir(parents=True, exist_ok=True)
    files = list(args.fasta) or [demo_corpus(args.out / "demo_corpus.fa")]
    for path in files:
        info = file_info(path)
        print(f"corpus {path}: {info['records']} records, {info['total_length']:,} bases, "
              f"alphabet {info['alphabet']}")
    model_dir = pretrain_from_files(args.recipe, files, args.out, overrides=args.overrides)
    summary = json.loads((Path(model_dir) / SUMMARY_FILE).read_text())
    bases = b"".join(r.sequence.encode() for path in files for r in read_fastx(path, replace_invalid=True))
    table = {"bioLM validation": summary["metrics"].get("val_bits_per_base"),
             **classic_bits_per_base(bases)}
    print("bits per base (lower is better; classic compressors on the whole corpus):")
    for name, value in table.items():
        print(f"  {name:<18} {value:.3f}" if value is not None else f"  {name:<18} n/a")
    print(f"model exported to {model_dir} (a standard Llama: AutoModelForCausalLM.from_pretrained loads it, no bioLM needed)")
    return 0
