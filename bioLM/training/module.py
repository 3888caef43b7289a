"""The LightningModule of pretraining: next-token loss, AdamW + warmup/cosine, bits per token and per base.

Loss in nats per predicted token. Bits per base = total nats / ln 2 / total bases of the predicted tokens
(``bases_per_token`` lookup: 0 for specials), so models with different tokenizers compare fairly.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from bioLM.errors import BioLMError
from bioLM.model.modeling import log_probs_function

LN2 = math.log(2.0)


class TrainingDivergedError(BioLMError, RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


def cosine_with_warmup(step: int, warmup_steps: int, max_steps: int, min_lr_ratio: float) -> float:
    """LR multiplier at optimizer ``step`` (0-based): linear warmup to 1, then cosine down to ``min_lr_ratio``."""
    if step < warmup_steps:
        return (step + 1) / max(1, warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def next_token_nats(model: torch.nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pretraining step's forward: ids (B, T+1) -> (nats (B, T), targets (B, T)); positions 0..T-1 predict
    1..T. Calls :func:`bioLM.model.modeling.log_probs_function` (compiled by ``compile_blocks``);
    ``benchmarks/train_speed.py`` times exactly this function."""
    inputs, targets = ids[:, :-1], ids[:, 1:]
    logits = model(input_ids=inputs, use_cache=False).logits  # (B, T, V)
    return -log_probs_function(model)(logits, targets), targets


class BioLMLightningModule(L.LightningModule):
    """Wraps a ``BioLMForCausalLM`` built from ``model_config`` (a ``BioLMConfig.to_dict()``).

    Batches: ``input_ids`` (B, T+1) (positions 0..T-1 predict 1..T), optional ``soft_mask`` (B, T+1) and,
    in validation, ``length`` (B,) real tokens per padded window.

    ``tokens_per_micro_batch``: B * T of one rank's micro-batch (``tokens_seen`` multiplies it by the
    trainer's accumulation and world size); ``extras``: plain-typed data stored in every checkpoint under
    ``"biolm"`` (recipe, manifest, tokenizer files: what export needs). The training step returns the loss
    tensor without reading it on the host (no device sync per micro-step); the per-step record and the check
    for a diverged loss are :class:`bioLM.training.callbacks.LossRecorder`'s.
    """

    def __init__(self, model_config: dict[str, Any], optim: dict[str, Any], max_steps: int,
                 bases_per_token: list[float], soft_mask_weight: float = 1.0, compile: bool = False,
                 tokens_per_micro_batch: int = 0, extras: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["extras"])
        from bioLM.model import BioLMConfig, BioLMForCausalLM, compile_blocks

        config = BioLMConfig(**{k: v for k, v in model_config.items() if k in BioLMConfig.__dataclass_fields__})
        self.model = BioLMForCausalLM(config)
        if compile:
            compile_blocks(self.model)
        self.register_buffer("bases_per_token", torch.tensor(bases_per_token, dtype=torch.float64),
                             persistent=False)
        self.extras: dict[str, Any] = dict(extras or {})
        self._resumed_metrics: dict[str, float] = {}  # a resumed run keeps the metrics its checkpoint had
        self._val = None

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step over all ranks (0 outside a trainer)."""
        if self._trainer is None:
            return 0
        trainer = self.trainer
        return self.hparams.tokens_per_micro_batch * trainer.accumulate_grad_batches * trainer.world_size

    # ---- loss ----
    def _loss_terms(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-token nats (B, T), targets (B, T), loss weights (B, T)."""
        nats, targets = next_token_nats(self.model, batch["input_ids"])  # (B, T) each
        weights = torch.ones_like(nats)
        if "soft_mask" in batch and self.hparams.soft_mask_weight != 1.0:
            masked = batch["soft_mask"][:, 1:].to(nats.dtype)
            weights = 1.0 - masked * (1.0 - self.hparams.soft_mask_weight)
        return nats, targets, weights

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        nats, targets, weights = self._loss_terms(batch)
        loss = (nats * weights).sum() / weights.sum()
        bases = self.bases_per_token[targets].sum()
        bpb = nats.detach().sum().double() / LN2 / bases.clamp(min=1)
        # not prog_bar: Lightning reads progress-bar tensors on the host after every batch (a device sync);
        # TrainingProgress reads callback_metrics when it draws
        self.log("train_loss", loss.detach())
        self.log("train_bits_per_base", bpb.float())
        self.log("tokens_seen", float((self.global_step + 1) * self.tokens_per_step))
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"] if self._trainer else 0.0)
        return loss

    # ---- validation: sums over every predicted validation token ----
    def on_validation_epoch_start(self) -> None:
        self._val = torch.zeros(3, dtype=torch.float64, device=self.device)  # nats, tokens, bases

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        nats, targets, _ = self._loss_terms(batch)
        positions = torch.arange(targets.shape[1], device=targets.device)
        valid = positions[None, :] < (batch["length"][:, None] - 1)  # target t+1 exists
        self._val[0] += nats.double()[valid].sum()
        self._val[1] += valid.sum()
        self._val[2] += self.bases_per_token[targets[valid]].sum()

    def on_validation_epoch_end(self) -> None:
        totals = self.trainer.strategy.reduce(self._val, reduce_op="sum") if self.trainer.world_size > 1 \
            else self._val
        nats, tokens, bases = (float(x) for x in totals)
        if tokens == 0:
            return
        self.log("tokens_seen", float(self.global_step * self.tokens_per_step), rank_zero_only=True)
        self.log("val_loss", nats / tokens, rank_zero_only=True)
        self.log("val_bits_per_token", nats / tokens / LN2, rank_zero_only=True)
        self.log("val_bits_per_base", nats / LN2 / max(bases, 1.0), rank_zero_only=True)

    # ---- optimizer ----
    def configure_optimizers(self) -> dict[str, Any]:
        optim = self.hparams.optim
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            (no_decay if param.dim() < 2 or "embed" in name else decay).append(param)
        groups = [{"params": decay, "weight_decay": optim["weight_decay"]},
                  {"params": no_decay, "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=optim["lr"], betas=tuple(optim["betas"]), eps=optim["eps"],
                                      fused=False)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_with_warmup(step, optim["warmup_steps"], self.hparams.max_steps,
                                                       optim["min_lr_ratio"]))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ---- checkpoints carry what export needs (plain types only: loadable with weights_only=True) ----
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        metrics = {k: float(v) for k, v in self.trainer.callback_metrics.items()
                   if k.startswith("val_") and torch.as_tensor(v).numel() == 1}
        # a run resumed from its final checkpoint trains and validates nothing: keep the metrics it had
        checkpoint["biolm"] = {**self.extras, "metrics": {**self._resumed_metrics, **metrics}}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._resumed_metrics = dict(checkpoint.get("biolm", {}).get("metrics", {}))
