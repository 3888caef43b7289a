"""``biolm finetune``: fine-tune a pretrained model for sequence classification or regression."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bioLM.hardware import add_runtime_arguments


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
    parser.add_argument("--freeze-backbone", action="store_true", help="train the head only")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="AdamW learning rate (default 1e-4)")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per batch (default 32)")
    parser.add_argument("--max-epochs", type=int, default=10, help="most epochs (default 10)")
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs (default 3)")
    parser.add_argument("--pooling", choices=["last", "mean"], default=None, help="head input (default: model's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialization, data order and splits")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.finetune import FinetuneConfig, finetune
    from bioLM.scoring.tasks import load_task

    config = FinetuneConfig(freeze_backbone=args.freeze_backbone, learning_rate=args.learning_rate,
                            batch_size=args.batch_size, max_epochs=args.max_epochs, patience=args.patience,
                            pooling=args.pooling, seed=args.seed, precision=args.precision,
                            device=args.device)
    task = load_task(args.task, fmt=args.task_format, seed=args.seed)
    result = finetune(args.model, task, args.out, config)
    print(json.dumps({"out": str(result.out_dir), "task": task.name, "kind": task.kind, "epochs": result.epochs,
                      "best_epoch": result.best_epoch, "metrics": result.metrics}, indent=2))
    return 0
