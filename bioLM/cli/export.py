"""``biolm export CKPT OUTDIR``: a training checkpoint to a Hugging Face model directory."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a training checkpoint as a Hugging Face model")
    parser.add_argument("checkpoint", type=Path, help="training checkpoint (e.g. runs/x/checkpoints/last.ckpt)")
    parser.add_argument("out_dir", type=Path, help="model directory to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.training.export import export_checkpoint

    print(f"model written to {export_checkpoint(args.checkpoint, args.out_dir)}")
    return 0
