"""Callbacks and plugins of pretraining: atomic checkpoints, per-step loss file, tokens/s and MFU.

Atomic checkpoints: Lightning's ``TorchCheckpointIO`` writes through an fsspec transaction whose temporary file
lives in the system temp dir and is moved (copied across file systems) without fsync; here the bytes go to a
temporary file beside the target, are fsynced, and ``os.replace`` puts them in place, so a kill -9 during a
save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to ``<name>.tmp-<pid>`` in the same folder, fsync, then ``os.replace``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
                        ) -> dict[str, Any]:
        """Checkpoints are loaded with ``weights_only=True``: tensors and plain types, never arbitrary objects."""
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)


class LossRecorder(L.Callback):
    """Appends ``step<TAB>loss`` (mean of the step's micro-batch losses, averaged over ranks, ``repr``
    precision) to ``path`` after every optimizer step (rank 0). A resumed run appends; the last line for a
    step wins."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        losses = getattr(pl_module, "step_losses", [])
        if len(losses) < trainer.accumulate_grad_batches:
            return
        mean = sum(losses) / len(losses)
        losses.clear()
        if trainer.world_size > 1:  # the loss of the global batch: mean over ranks
            mean = float(trainer.strategy.reduce(torch.tensor(mean, device=pl_module.device), reduce_op="mean"))
        if trainer.is_global_zero:
            with open(self.path, "a") as handle:
                handle.write(f"{trainer.global_step}\t{mean!r}\n")


def read_losses(path: str | Path) -> dict[int, float]:
    """Step -> loss from a LossRecorder file (later lines override earlier ones)."""
    out: dict[int, float] = {}
    for line in Path(path).read_text().splitlines():
        step, loss = line.split("\t")
        out[int(step)] = float(loss)
    return out


class ThroughputMonitor(L.Callback):
    """Logs ``tokens_per_s`` (all ranks together) and ``mfu`` = flops_per_token * tokens/s / peak, averaged
    over each ``log_every`` optimizer steps."""

    def __init__(self, tokens_per_step: int, flops_per_token: float, peak_flops: float | None,
                 log_every: int = 10) -> None:
        self.tokens_per_step, self.flops_per_token = tokens_per_step, flops_per_token
        self.peak_flops, self.log_every = peak_flops, max(1, log_every)
        self._start: float | None = None
        self._steps = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if (batch_idx + 1) % trainer.accumulate_grad_batches:
            return
        now = time.perf_counter()
        if self._start is None:  # the first step (compilation, warm-up) is not timed
            self._start, self._steps = now, 0
            return
        self._steps += 1
        if self._steps >= self.log_every:
            rate = self._steps * self.tokens_per_step / (now - self._start)
            pl_module.log("tokens_per_s", rate, prog_bar=True, rank_zero_only=True)
            if self.peak_flops:
                pl_module.log("mfu", rate * self.flops_per_token / self.peak_flops, rank_zero_only=True)
            self._start, self._steps = now, 0

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = None  # do not count validation time as training time
