"""Callbacks, loggers and plugins of pretraining: atomic checkpoints, per-step loss file, tokens/s and MFU,
and metric logs that stay in one folder across resumes.

Atomic checkpoints: Lightning's ``TorchCheckpointIO`` writes through an fsspec transaction whose temporary file
lives in the system temp dir and is moved (copied across file systems) without fsync; here the bytes go to a
temporary file beside the target, are fsynced, and ``os.replace`` puts them in place, so a kill -9 during a
save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import csv
import io
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

LOGGERS = ("csv", "tensorboard")


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
    precision) to ``path`` after every optimizer step (rank 0). A resumed run appends after the rows up to its
    checkpoint's step (:func:`trim_logs` drops the ones an interrupted run wrote past it): one row per step."""

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
