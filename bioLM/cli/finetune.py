"""``biolm finetune``: fine-tune a pretrained model for sequence classification or regression."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bioLM.cli.options import add_options, add_runtime_arguments, build_options

OPTIONS = "bioLM.finetuning.finetune:FinetuneConfig"
LORA = ["lora", "lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model on a labelled task (classification or regression)",
        description="TASK is a folder: GUE (train.csv, dev.csv, test.csv with sequence,label), one FASTA per "
                    "class (seeded stratified split), or SCL2205 (CSV + splits.json). Early stopping on the "
                    "validation loss; exports an AutoModelForSequenceClassification directory + metrics.json.")
    parser.add_argument("--model", type=Path, required=True, help="pretrained model directory")
    parser.add_argument("--task", type=Path, required=True, help="task folder")
    parser.add_argument("--task-format", choices=["gue", "fasta", "scl"], default=None,
                        help="task format (default: detected from the folder)")
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    add_options(parser, OPTIONS, exclude=["precision", "device", "progress", *LORA])
    add_runtime_arguments(parser)
    lora = parser.add_argument_group("LoRA (needs pip install 'biolm[finetune]')")
    add_options(lora, OPTIONS, only=LORA)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.finetuning.finetune import FinetuneConfig, finetune, finite_metrics
    from bioLM.finetuning.tasks import load_task

    config = build_options(FinetuneConfig, args)
    task = load_task(args.task, fmt=args.task_format, seed=args.seed)
    result = finetune(args.model, task, args.out, config)
    print(json.dumps({"out": str(result.out_dir), "task": task.name, "kind": task.kind, "epochs": result.epochs,
                      "best_epoch": result.best_epoch, "metrics": finite_metrics(result.metrics)}, indent=2))
    return 0
