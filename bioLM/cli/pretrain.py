"""``biolm pretrain RECIPE.yaml [key=value ...] [--resume]``: prepare (if needed), train, export."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pretrain", help="pretrain a GPT from a recipe (prepare, train, export)")
    parser.add_argument("recipe", type=Path, help="recipe YAML (see recipes/)")
    parser.add_argument("overrides", nargs="*", help="recipe overrides section.key=value, e.g. optim.lr=1e-3")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/checkpoints/last.ckpt")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from bioLM.training.pretraining import pretrain
    from bioLM.training.progress import TrainingInterrupted
    from bioLM.training.recipe import Recipe

    recipe = Recipe.from_yaml(args.recipe, args.overrides)
    recipe.resume = recipe.resume or args.resume
    try:
        model_dir = pretrain(recipe)
    except TrainingInterrupted as stop:
        print(f"biolm pretrain: {stop}", file=sys.stderr)
        return 130
    print(f"model written to {model_dir}")
    return 0
