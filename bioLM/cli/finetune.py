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
    lora = parser.add_argument_group("LoRA (needs pip install 'biolm[finetune]')")
    lora.add_argument("--lora", action="store_true",
                      help="train low-rank adapters and the head only; writes a PEFT adapter directory that "
                           "PeftModel.from_pretrained puts onto the base model")
    lora.add_argument("--lora-rank", type=int, default=8, help="adapter rank (default 8)")
    lora.add_argument("--lora-alpha", type=float, default=16.0, help="adapter scale numerator, alpha/rank (default 16)")
    lora.add_argument("--lora-dropout", type=float, default=0.05, help="dropout on the adapters' input (default 0.05)")
    lora.add_argument("--lora-target-modules", default=None,
                      help="comma-separated linear layer names, e.g. q_proj,v_proj (default: all linear layers)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.finetune import FinetuneConfig, finetune, finite_metrics
    from bioLM.scoring.tasks import load_task

    config = FinetuneConfig(freeze_backbone=args.freeze_backbone, learning_rate=args.learning_rate,
                            batch_size=args.batch_size, max_epochs=args.max_epochs, patience=args.patience,
                            pooling=args.pooling, seed=args.seed, precision=args.precision,
                            device=args.device, lora=args.lora, lora_rank=args.lora_rank,
                            lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                            lora_target_modules=args.lora_target_modules.split(",") if args.lora_target_modules
                            else None)
    task = load_task(args.task, fmt=args.task_format, seed=args.seed)
    result = finetune(args.model, task, args.out, config)
    print(json.dumps({"out": str(result.out_dir), "task": task.name, "kind": task.kind, "epochs": result.epochs,
                      "best_epoch": result.best_epoch, "metrics": finite_metrics(result.metrics)}, indent=2))
    return 0
