"""Fine-tuning a pretrained model for sequence classification or regression, with Lightning.

The pretrained causal LM's backbone is loaded into ``AutoModelForSequenceClassification`` (bioLM's
``BioLMForSequenceClassification``: a linear head on the last token, or the mean, of the final hidden
states). Inputs are ``<bos> sequence <eos>``; a sequence longer than the model's context is truncated to
it, and the count is logged (never silent). Full fine-tuning, ``freeze_backbone`` to train the head only, or
``lora`` to train low-rank adapters and the head (:mod:`bioLM.finetuning.lora`; the output is a PEFT adapter).
Early stopping watches the validation loss; the weights of the best validation epoch are kept and exported
with the tokenizer as a directory loadable by ``AutoModelForSequenceClassification.from_pretrained``, plus
``metrics.json``, a model card, ``logs/metrics.csv``, ``history.tsv`` and ``learning_curve.png``
(:mod:`bioLM.finetuning.outputs`).

Metrics: classification: AUROC (one-vs-rest macro for more than two classes), MCC, accuracy;
regression: Spearman's rho and R².
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification

from bioLM.errors import ConfigError
from bioLM.finetuning.lora import add_lora, trainable_parameters
from bioLM.finetuning.outputs import write_outputs
from bioLM.finetuning.tasks import Task, TaskSplit, load_task
from bioLM.hardware import PRECISIONS, resolve_device, resolve_precision
from bioLM.metrics import classification_metrics, regression_metrics
from bioLM.model.batching import collate
from bioLM.model.llama import classifier_from_llama
from bioLM.model.loading import load_weights, model_context, open_directory
from bioLM.scoring.likelihood import encode

logger = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """Options of :func:`finetune`."""

    freeze_backbone: bool = False
    """Train only the head (a linear probe on the pretrained features) instead of the whole model."""
    learning_rate: float = 1e-4
    """AdamW learning rate (the head uses ``head_lr_multiplier`` times it)."""
    head_lr_multiplier: float = 10.0
    """The freshly initialized head learns faster than the pretrained backbone."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    batch_size: int = 32
    """Sequences per training batch."""
    max_epochs: int = 10
    """Upper bound on epochs (early stopping usually ends sooner)."""
    patience: int = 3
    """Epochs without a better validation loss before stopping."""
    pooling: Literal["last", "mean"] | None = None
    """Head input: last token or mean over tokens (None: the model config's default)."""
    seed: int = 0
    """Seed of initialization and data order."""
    precision: str = "auto"
    """auto | bf16 | fp32: bf16 mixed precision where the hardware runs bf16 natively (see bioLM.hardware)."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N."""
    progress: bool = True
    """Lightning progress bar."""
    lora: bool = False
    """Train LoRA adapters (and the head) instead of the whole model; needs ``pip install 'biolm[finetune]'``."""
    lora_rank: int = 8
    """Rank of the LoRA adapters."""
    lora_alpha: float = 16.0
    """LoRA scale numerator: adapters are scaled by ``lora_alpha / lora_rank``."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA adapters' input."""
    lora_target_modules: list[str] | None = None
    """Linear layers that get adapters, by name (e.g. ``q_proj``, ``v_proj``); None: every linear layer of the
    transformer blocks."""
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"
    """Learning rate after the warmup: constant, or decayed to 0 at the last step (linear or cosine)."""
    warmup_fraction: float = 0.0
    """Fraction of the training steps (``max_epochs`` x batches) over which the rate rises linearly from 0."""
    from_scratch: bool = False
    """Random initialization (the model config's init, seeded by ``seed``) instead of the pretrained weights:
    the same architecture and tokenizer trained with the same budget, the control of the pretraining gain."""
    reverse_complement_average: bool = False
    """DNA: average the logits of each evaluated sequence and its reverse complement (training is unchanged)."""

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r} is not valid; choose one of {list(PRECISIONS)}")
        if self.lr_schedule not in ("constant", "linear", "cosine"):
            raise ConfigError(f"lr_schedule={self.lr_schedule!r} is not valid; choose constant, linear or cosine")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"warmup_fraction={self.warmup_fraction} must be in [0, 1)")

    def trainer_device(self) -> tuple[str, list[int] | int, str]:
        """Lightning ``(accelerator, devices, precision)`` for :attr:`device` and :attr:`precision`."""
        device = resolve_device(self.device)
        accelerator = "gpu" if device.type == "cuda" else "cpu"
        devices = [device.index or 0] if device.type == "cuda" else 1
        return accelerator, devices, resolve_precision(self.precision, accelerator)


@dataclass
class FinetuneResult:
    """Where the model went, the metrics of the best epoch per split, and training length."""

    out_dir: Path
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    epochs: int = 0
    best_epoch: int = 0
    logits: dict[str, np.ndarray] = field(default_factory=dict)
    """Logits (N, C) of the best model on each evaluated split (validation, test), in the split's order."""


class _Encoded(torch.utils.data.Dataset):
    """Token ids ``prefix seq suffix`` (truncated to ``context``) and labels of one split; causal models get
    ``<bos> seq <eos>``, masked models their tokenizer's own special tokens (ESM: ``<cls> seq <eos>``)."""

    def __init__(self, split: TaskSplit, tokenizer, context: int | None, name: str,
                 special: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> None:
        ids = encode(tokenizer, split.sequences, names=[f"{name} #{i + 1}" for i in range(len(split))])
        if special is None:
            bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
            eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        else:
            bos, eos = list(special[0]), list(special[1])
        rows = [np.asarray(bos + i.tolist() + eos, dtype=np.int64) for i in ids]
        if context is not None:
            long = sum(len(r) > context for r in rows)
            if long:
                logger.warning("%s: %d of %d sequences are longer than the model's context (%d tokens) and "
                               "were truncated to it", name, long, len(rows), context)
                rows = [r[:context] for r in rows]
        self.rows, self.labels = rows, split.labels

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[np.ndarray, float | int]:
        return self.rows[index], self.labels[index]


def _collate(pad_id: int, regression: bool):
    def collate_items(items):
        batch = collate([ids for ids, _ in items], list(range(len(items))), pad_id)
        labels = torch.tensor([label for _, label in items], dtype=torch.float32 if regression else torch.long)
        return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "labels": labels}
    return collate_items


class SequenceTaskModule(L.LightningModule):
    """Wraps a HF sequence-classification model; tracks the best validation loss and its weights."""

    def __init__(self, model, kind: str, config: FinetuneConfig) -> None:
        super().__init__()
        self.model, self.kind, self.config = model, kind, config
        self.best_loss, self.best_epoch, self.best_state = float("inf"), -1, None
        self._outputs: list[tuple[torch.Tensor, torch.Tensor, float]] = []
        self.history: list[dict[str, float]] = []  # one row per epoch: train_loss, val_loss, val metrics
        self._train_losses: list[float] = []

    def forward(self, batch):
        return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          labels=batch["labels"])

    def training_step(self, batch, batch_idx):
        loss = self(batch).loss
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        self._train_losses.append(float(loss.detach()))
        return loss

    def validation_step(self, batch, batch_idx):
        out = self(batch)
        self.log("val_loss", out.loss, prog_bar=True, batch_size=len(batch["labels"]))
        self._outputs.append((out.logits.float().cpu(), batch["labels"].cpu(), float(out.loss) * len(batch["labels"])))

    def on_validation_epoch_end(self) -> None:
        if not self._outputs or self.trainer.sanity_checking:
            self._outputs.clear()
            return
        logits = torch.cat([o[0] for o in self._outputs]).numpy()
        labels = torch.cat([o[1] for o in self._outputs]).numpy()
        loss = sum(o[2] for o in self._outputs) / len(labels)  # mean over sequences, as val_loss
        self._outputs.clear()
        row = {"epoch": self.current_epoch, "val_loss": loss}
        if self._train_losses:
            row["train_loss"] = sum(self._train_losses) / len(self._train_losses)
            self._train_losses.clear()
        for name, value in split_metrics(self.kind, logits, labels).items():
            self.log(f"val_{name}", value)
            row[f"val_{name}"] = value
        self.history.append(row)
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, self.current_epoch
            self.best_state = copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})

    def configure_optimizers(self):
        head = [p for n, p in self.model.named_parameters() if p.requires_grad and _is_head(self.model, n)]
        body = [p for n, p in self.model.named_parameters() if p.requires_grad and not _is_head(self.model, n)]
        groups = [{"params": head, "lr": self.config.learning_rate * self.config.head_lr_multiplier}]
        if body:
            groups.append({"params": body, "lr": self.config.learning_rate})
        optimizer = torch.optim.AdamW(groups, weight_decay=self.config.weight_decay)
        if self.config.lr_schedule == "constant" and self.config.warmup_fraction == 0:
            return optimizer
        factor = lr_factor(self.config.lr_schedule, self.config.warmup_fraction,
                           int(self.trainer.estimated_stepping_batches))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def lr_factor(schedule: str, warmup_fraction: float, total_steps: int):
    """``step -> multiplier`` of the base rate: linear warmup over ``warmup_fraction`` of ``total_steps``, then
    constant, or a linear / cosine decay to 0 at ``total_steps``."""
    total = max(1, total_steps)
    warmup = int(warmup_fraction * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 1.0 - progress if schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def _is_head(model, name: str) -> bool:
    if hasattr(model, "peft_config"):  # PEFT: the head is saved whole, beside the adapters
        return "modules_to_save" in name
    prefix = getattr(model, "base_model_prefix", "model")
    return not name.startswith(prefix + ".")


def split_metrics(kind: str, logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Metrics of one split from logits (N, C) or (N, 1)."""
    if kind == "regression":
        return regression_metrics(labels, logits[:, 0])
    probabilities = torch.softmax(torch.as_tensor(logits), dim=-1).numpy()
    return classification_metrics(labels, probabilities)


def load_for_task(model_dir: str | Path, task: Task, config: FinetuneConfig):
    """The pretrained backbone with a new head sized for ``task``, and its tokenizer."""
    directory = open_directory(model_dir)  # the loader's checks, without reading the LM weights twice
    tokenizer = directory.tokenizer
    native = directory.config.model_type == "biolm"  # bioLM's classifier pools either way
    extra = {"classifier_pooling": config.pooling} if config.pooling is not None and native else {}
    labels = {i: name for i, name in enumerate(task.label_names)} if task.kind == "classification" else {0: "y"}
    model = load_weights(
        directory, AutoModelForSequenceClassification, num_labels=task.num_labels, id2label=labels,
        label2id={v: k for k, v in labels.items()},
        problem_type="regression" if task.kind == "regression" else "single_label_classification",
        pad_token_id=tokenizer.pad_token_id, **extra)
    if config.pooling not in (None, "last") and not native:
        if config.lora:
            raise ConfigError(f"pooling={config.pooling!r} with lora: adapters are made for the standard "
                              "classifier of the base model, which pools the last token; drop the pooling option")
        model = classifier_from_llama(model, config.pooling)  # a bioLM export: Llama weights, bioLM pooling
    if config.from_scratch:
        model = reinitialize(model, config.seed)
    if config.freeze_backbone:
        model.base_model.requires_grad_(False)
    if directory.kind == "masked":
        special = (directory.prefix, directory.suffix)
    else:
        eos = (tokenizer.eos_token_id,) if tokenizer.eos_token_id is not None else ()
        special = (directory.prefix, eos)
    return model, tokenizer, special


def reinitialize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """A model of ``model``'s class and config with every weight drawn afresh by the config's initialization,
    seeded by ``seed``: the same architecture (and head) without what pretraining learned."""
    torch.manual_seed(seed)
    return type(model)(model.config).to(next(model.parameters()).dtype).train(model.training)


@torch.inference_mode()
def predict(model, dataset: _Encoded, pad_id: int, regression: bool, batch_size: int = 64) -> np.ndarray:
    """Logits (N, C) of a dataset, in order."""
    model.eval()
    device = next(model.parameters()).device
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=_collate(pad_id, regression))
    outputs = []
    for batch in loader:
        out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device))
        outputs.append(out.logits.float().cpu())
    return torch.cat(outputs).numpy()


def finetune(model_dir: str | Path, task: Task | str | Path, out_dir: str | Path,
             config: FinetuneConfig | None = None, **options) -> FinetuneResult:
    """Fine-tune ``model_dir`` on ``task`` (a :class:`Task` or a task folder) and export to ``out_dir``."""
    config = config or FinetuneConfig(**options)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"out={str(out_dir)!r} is an existing file; the fine-tuned model is saved as a directory: "
                          "choose a new path")
    if config.batch_size < 1 or config.max_epochs < 1 or config.patience < 0:
        raise ConfigError(f"batch_size={config.batch_size}, max_epochs={config.max_epochs} must be >= 1 and "
                          f"patience={config.patience} >= 0")
    if config.lora and config.freeze_backbone:
        raise ConfigError("lora and freeze_backbone exclude each other (LoRA already freezes the backbone)")
    accelerator, devices, precision = config.trainer_device()
    task = task if isinstance(task, Task) else load_task(task, seed=config.seed)
    L.seed_everything(config.seed, verbose=False)
    model, tokenizer, special = load_for_task(model_dir, task, config)
    if config.lora:
        model = add_lora(model, config.lora_rank, config.lora_alpha, config.lora_dropout,
                         config.lora_target_modules)
        logger.info("LoRA: %d of %d parameters train", *trainable_parameters(model))
    context = model_context(model, tokenizer)
    data = {s: _Encoded(task.splits[s], tokenizer, context, f"{task.name}/{s}", special) for s in task.splits}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    regression = task.kind == "regression"
    collate = _collate(pad, regression)
    generator = torch.Generator().manual_seed(config.seed)
    train = DataLoader(data["train"], batch_size=config.batch_size, shuffle=True, collate_fn=collate,
                       generator=generator)
    val = DataLoader(data["validation"], batch_size=config.batch_size, collate_fn=collate)
    model.train()  # from_pretrained returns eval mode; dropout should be on while training
    module = SequenceTaskModule(model, task.kind, config)

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    trainer = L.Trainer(max_epochs=config.max_epochs, accelerator=accelerator, devices=devices,
                        precision=precision, enable_checkpointing=False,
                        logger=CSVLogger(out_dir, name="logs", version=""),
                        enable_progress_bar=config.progress, enable_model_summary=False,
                        num_sanity_val_steps=0, log_every_n_steps=max(1, min(50, len(train))),
                        callbacks=[EarlyStopping("val_loss", patience=config.patience, mode="min")])
    trainer.fit(module, train, val)
    if module.best_state is not None:
        model.load_state_dict(module.best_state)
    result = FinetuneResult(Path(out_dir), epochs=trainer.current_epoch, best_epoch=module.best_epoch)
    for split in ("validation", "test"):
        logits = predict(model, data[split], pad, regression)
        if config.reverse_complement_average:
            logits = (logits + predict(model, _reverse_complement(task.splits[split], tokenizer, context, task,
                                                                  special), pad, regression)) / 2
        result.logits[split] = logits
        result.metrics[split] = split_metrics(task.kind, logits, task.splits[split].labels)
    _export(model, tokenizer, result, task, config, module.history, model_dir)
    return result


def _reverse_complement(split: TaskSplit, tokenizer, context: int | None, task: Task, special) -> _Encoded:
    """The split's sequences reverse-complemented (DNA only), encoded like the forward strand."""
    from bioLM.alphabet import reverse_complement

    if task.alphabet != "dna":
        raise ConfigError(f"reverse_complement_average needs a DNA task; {task.name!r} is {task.alphabet}")
    flipped = TaskSplit([reverse_complement(s) for s in split.sequences], split.labels)
    return _Encoded(flipped, tokenizer, context, f"{task.name} (reverse complement)", special)


def finite_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """``metrics`` with NaN / inf (an undefined AUROC, a constant prediction) as None: JSON has no NaN."""
    return {split: {name: value if math.isfinite(value) else None for name, value in values.items()}
            for split, values in metrics.items()}


def _export(model, tokenizer, result: FinetuneResult, task: Task, config: FinetuneConfig,
            history: list[dict[str, float]], model_dir: str | Path) -> None:
    summary = {"task": task.name, "kind": task.kind, "labels": task.label_names, "metrics": result.metrics,
               "epochs": result.epochs, "best_epoch": result.best_epoch, "config": asdict(config),
               "sizes": {s: len(v) for s, v in task.splits.items()}}
    summary["metrics"] = finite_metrics(result.metrics)
    write_outputs(model, tokenizer, result.out_dir, summary, history, model_dir, task.alphabet)
    logger.info("fine-tuned model exported to %s; metrics %s", result.out_dir, result.metrics)
