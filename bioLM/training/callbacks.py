"""Callbacks, loggers and plugins of pretraining: atomic and periodic checkpoints, RNG state in checkpoints,
the per-step loss file, tokens/s and MFU, and metric logs that stay in one folder across resumes (the
progress line and Ctrl-C handling are :mod:`bioLM.training.progress`'s).

Atomic checkpoints: Lightning's ``TorchCheckpointIO`` writes through an fsspec transaction whose temporary file
lives in the system temp dir and is moved (copied across file systems) without fsync; here the bytes go to a
temporary file beside the target, are fsynced, and ``os.replace`` puts them in place, so a kill -9 during a
save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from bioLM.errors import ConfigError
from bioLM.io.atomic import atomic_write
from bioLM.training.module import TrainingDivergedError

LOGGERS = ("csv", "tensorboard")


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` through :func:`bioLM.io.atomic.atomic_write` with fsync: a kill -9 leaves the old file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp), fsync=True)

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
                        ) -> dict[str, Any]:
        """Checkpoints are loaded with ``weights_only=True``: tensors and plain types, never arbitrary objects."""
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)


class LossRecorder(L.Callback):
    """``losses.tsv``: the exact per-step record of the training loss, one ``step<TAB>loss`` row per optimizer
    step (rank 0; ``step`` 1-based, ``loss`` the mean of the step's micro-batch losses averaged over ranks, in
    ``repr`` precision). It is not derived from the CSV logger on purpose: ``logs/metrics.csv`` has one row per
    ``log_every`` steps holding the loss of that step's last micro-batch; this file has every step and the
    step's mean, which the exact-resume test (``tests/training/test_kill_resume.py``) compares.

    The losses stay on the device as tensors (reading a loss on the host each micro-step would force a device
    sync); they are read, checked and written once every ``every`` steps, at train end and before every
    checkpoint is written (``on_save_checkpoint``), so the rows up to a checkpoint's step are on disk before the
    checkpoint is. A resumed run appends after the rows up to its checkpoint's step (:func:`trim_logs` drops
    the ones an interrupted run wrote past it). A NaN or infinite loss raises :class:`TrainingDivergedError`
    there, before the checkpoint is written, so the last good checkpoint stays.
    """

    def __init__(self, path: str | Path, every: int = 10) -> None:
        self.path, self.every = Path(path), max(1, every)
        self._micro: list[torch.Tensor] = []  # detached (normalized) micro-batch losses of the current step
        self._steps: list[int] = []
        self._losses: list[torch.Tensor] = []  # one 0-d tensor per optimizer step, not yet written

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        # Lightning's outputs["loss"] is the micro-batch loss divided by accumulate_grad_batches: their sum
        # over the step is the step's mean loss
        self._micro.append(outputs["loss"].detach())
        if (batch_idx + 1) % trainer.accumulate_grad_batches:
            return
        self._losses.append(torch.stack(self._micro).sum() if len(self._micro) > 1 else self._micro[0])
        self._steps.append(trainer.global_step)
        self._micro = []
        if trainer.global_step % self.every == 0:
            self.flush(trainer)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        self.flush(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.flush(trainer)

    def flush(self, trainer: L.Trainer) -> None:
        """Read the pending steps' losses (one device sync), check them and append them (rank 0)."""
        if not self._losses:
            return
        losses = torch.stack(self._losses).double()
        if trainer.world_size > 1:  # the loss of the global batch: mean over ranks
            losses = trainer.strategy.reduce(losses, reduce_op="mean")
        values, steps = losses.tolist(), self._steps
        self._losses, self._steps = [], []
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if trainer.is_global_zero:
            with open(self.path, "a") as handle:
                handle.writelines(f"{s}\t{v!r}\n" for s, v in zip(steps[:bad], values[:bad]))
        if bad is not None:
            raise TrainingDivergedError(
                f"training loss became {values[bad]} at optimizer step {steps[bad] - 1}; stopped without saving. "
                "Lower optim.lr, raise optim.warmup_steps or use trainer.precision=32-true, and resume from "
                "the last good checkpoint")


def read_losses(path: str | Path) -> dict[int, float]:
    """Step -> loss from a LossRecorder file (later lines override earlier ones)."""
    out: dict[int, float] = {}
    for line in Path(path).read_text().splitlines():
        step, loss = line.split("\t")
        out[int(step)] = float(loss)
    return out


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` is kept and appended to."""

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir)
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                self.metrics_keys = sorted(next(csv.reader(handle), []))

    def _check_log_dir_exists(self) -> None:  # Lightning deletes the previous metrics here
        pass


class ResumableCSVLogger(CSVLogger):
    """CSV metrics in ``<save_dir>/<name>/metrics.csv``: one file for a run and all its resumes (no
    ``version_*`` folders); pretraining trims the rows past the resumed step first (:func:`trim_logs`)."""

    def __init__(self, save_dir: str | Path, name: str = "logs") -> None:
        super().__init__(save_dir, name=name, version="")

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def build_loggers(names: list[str], out_dir: Path, resume_step: int) -> list:
    """The recipe's loggers (``trainer.loggers``): ``csv`` (``logs/metrics.csv``) and ``tensorboard``
    (``tensorboard/``; events past ``resume_step`` from an interrupted run are purged)."""
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise ConfigError(f"trainer.loggers: {unknown} not known; choose from {list(LOGGERS)}")
    loggers = []
    if "csv" in names:
        loggers.append(ResumableCSVLogger(out_dir, name="logs"))
    if "tensorboard" in names:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ConfigError("trainer.loggers includes 'tensorboard' but the tensorboard package is not "
                              "installed; pip install 'biolm[tensorboard]' (or drop it from trainer.loggers)") from None
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(out_dir, name="tensorboard", version="", purge_step=resume_step + 1
                                         if resume_step else 0, default_hp_metric=False))
    return loggers


def trim_logs(out_dir: str | Path, step: int) -> None:
    """Before a run starts at optimizer ``step`` (0: from scratch), drop what an earlier, interrupted run
    logged after it: ``losses.tsv`` rows for steps > ``step`` and ``logs/metrics.csv`` rows of later steps
    (Lightning logs optimizer step k as row step k-1). A run from scratch also removes the ``logs/version_*``
    folders of older bioLM versions, which the learning curve would otherwise mix in."""
    out_dir = Path(out_dir)
    if step == 0:
        for stale in out_dir.glob("logs/version_*"):
            shutil.rmtree(stale, ignore_errors=True)
    losses = out_dir / "losses.tsv"
    if losses.is_file():
        kept = [line for line in losses.read_text().splitlines() if line and int(line.split("\t")[0]) <= step]
        losses.write_text("".join(line + "\n" for line in kept))
    metrics = out_dir / "logs" / "metrics.csv"
    if metrics.is_file():
        with open(metrics, newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames or [], [r for r in reader if int(float(r.get("step") or 0)) < step]
        with open(metrics, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


class ThroughputMonitor(L.Callback):
    """Logs ``tokens_per_s`` (all ranks together) and ``mfu`` = flops_per_token * tokens/s / peak, averaged
    over each ``log_every`` optimizer steps (the first step, compilation and warm-up, and validation are not
    timed).

    ``tokens_per_micro_batch``: B * T of one rank's micro-batch (times accumulation and world size: the tokens
    of a step); ``peak_tflops``: one device's peak, or None to measure it on the trainer's device in its
    precision (:func:`bioLM.model.measure_matmul_peak`) at ``setup``.

    Why not Lightning's ``ThroughputMonitor``: it takes its peak from ``get_available_flops``, a table of
    GPU/TPU names that has no CPU entry (no MFU on CPU, nor on GPUs missing from the table) and no recipe
    override; it calls ``torch.cuda.synchronize()`` after every micro-batch (the sync this package avoids);
    it counts micro-batches rather than optimizer steps and writes to the loggers only, so neither the
    progress line nor ``callback_metrics`` sees ``tokens_per_s``.
    """

    def __init__(self, tokens_per_micro_batch: int, flops_per_token: float, peak_tflops: float | None,
                 log_every: int = 10) -> None:
        self.tokens_per_micro_batch, self.flops_per_token = tokens_per_micro_batch, flops_per_token
        self.peak_tflops, self.log_every = peak_tflops, max(1, log_every)
        self.tokens_per_step = 0
        self.peak_flops: float | None = None  # all ranks together, set at setup
        self._start: float | None = None
        self._steps = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.tokens_per_step = self.tokens_per_micro_batch * trainer.accumulate_grad_batches * trainer.world_size
        peak = self.peak_tflops * 1e12 if self.peak_tflops else _measured_peak(trainer)
        self.peak_flops = None if peak is None else peak * trainer.world_size

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
            pl_module.log("tokens_per_s", rate, rank_zero_only=True)
            if self.peak_flops:
                pl_module.log("mfu", rate * self.flops_per_token / self.peak_flops, rank_zero_only=True)
            self._start, self._steps = now, 0

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = None  # do not count validation time as training time


def _measured_peak(trainer: L.Trainer) -> float | None:
    """Matmul peak (flop/s) of one device of ``trainer`` in its precision's dtype; None when it cannot run."""
    from bioLM.model import measure_matmul_peak

    precision = str(trainer.precision)
    dtype = torch.bfloat16 if "bf16" in precision else torch.float16 if precision.startswith("16") else torch.float32
    try:
        return measure_matmul_peak(dtype=dtype, device=trainer.strategy.root_device, size=1024, repeats=5)
    except RuntimeError:
        return None


class PeriodicCheckpoint(L.Callback):
    """Saves ``<dir>/last.ckpt`` (atomically, through the trainer's checkpoint IO) every ``every`` steps."""

    def __init__(self, path: Path, every: int) -> None:
        self.path, self.every = path, max(1, every)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        boundary = (batch_idx + 1) % trainer.accumulate_grad_batches == 0
        if boundary and trainer.global_step % self.every == 0:
            trainer.save_checkpoint(self.path, weights_only=False)  # full state, for exact resume


class RNGState(L.Callback):
    """Stores and restores torch's CPU (and CUDA) RNG state in checkpoints (tensors: weights_only-safe)."""

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        state = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        checkpoint["rng_state"] = state

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("rng_state")
        if state:
            torch.set_rng_state(state["cpu"])
            if "cuda" in state and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda"])
