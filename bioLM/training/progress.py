"""What a person watching ``biolm pretrain`` sees, and a Ctrl-C that stops cleanly.

:class:`TrainingProgress` replaces Lightning's progress bar (which shows epochs of an epoch-less run,
``v_num`` and metric names cut over several lines). On a terminal it keeps one line up to date::

    step 120/600  loss 1.2345  1.781 bits/base  12.3k tok/s  ETA 2m10s  (val 1.912 bits/base at step 100)

When stderr is not a terminal (a batch job's log) it writes that line every ``every`` optimizer steps
instead, so the log shows progress while the job runs. Each validation adds one permanent line.

:func:`graceful_interrupt` turns the first Ctrl-C (SIGINT) into a request: training stops at the end of the
current optimizer step, a checkpoint is saved there, and :class:`TrainingInterrupted` tells how to resume.
A second Ctrl-C interrupts at once (the last periodic checkpoint is kept).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks.progress import ProgressBar


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C at a step boundary; the message says where the checkpoint is and how to resume
    (a KeyboardInterrupt, so callers that handle Ctrl-C keep doing so; ``biolm pretrain`` prints it)."""


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1h02m``, ``130`` -> ``2m10s``, ``9`` -> ``9s``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def format_rate(tokens_per_s: float) -> str:
    """``12345.6`` -> ``12.3k tok/s``."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if tokens_per_s >= scale:
            return f"{tokens_per_s / scale:.1f}{suffix} tok/s"
    return f"{tokens_per_s:.0f} tok/s"


class TrainingProgress(ProgressBar):
    """One status line (terminal) or a plain line every ``every`` steps (log file); see the module docstring.

    ``unit`` is ``"base"`` or ``"residue"``; ``tokens_per_micro_batch`` is B * T of one rank's micro-batch
    (the tokens of a step are that times the trainer's accumulation and world size).
    """

    def __init__(self, every: int = 10, unit: str = "base", tokens_per_micro_batch: int = 0,
                 stream: TextIO | None = None, interactive: bool | None = None) -> None:
        super().__init__()
        self.every, self.unit, self.tokens_per_micro_batch = max(1, every), unit, tokens_per_micro_batch
        self.tokens_per_step = 0
        self.stream = stream
        self.interactive = interactive
        self.enabled = True
        self._start_time = self._start_step = None
        self._window: tuple[float, int] | None = None  # (time, step) of the last rate measurement
        self._rate = 0.0
        self._last_draw = 0.0
        self._val_text = ""

    # ---- Lightning's progress bar protocol ----
    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def print(self, *args: Any, sep: str = " ", **kwargs: Any) -> None:
        self._line(sep.join(str(a) for a in args), permanent=True)

    # ---- output ----
    @property
    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    @property
    def _tty(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        return bool(getattr(self._out, "isatty", lambda: False)())

    def _line(self, text: str, permanent: bool) -> None:
        if not self.enabled:
            return
        if self._tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self._out.write("\r" + text[:width] + "\x1b[K" + ("\n" if permanent else ""))
        else:
            self._out.write(text + "\n")
        self._out.flush()

    def status(self, trainer: L.Trainer) -> str:
        """The status text at the trainer's current step."""
        metrics = trainer.callback_metrics
        step, total = trainer.global_step, trainer.max_steps
        parts = [f"step {step}/{total}"]
        if "train_loss" in metrics:
            parts.append(f"loss {float(metrics['train_loss']):.4f}")
        if "train_bits_per_base" in metrics:
            parts.append(f"{float(metrics['train_bits_per_base']):.3f} bits/{self.unit}")
        if self._rate:
            parts.append(format_rate(self._rate))
        done = step - (self._start_step or 0)
        if done > 0 and self._start_time is not None and total and total > step:
            parts.append("ETA " + format_duration((time.monotonic() - self._start_time) / done * (total - step)))
        if self._val_text:
            parts.append(f"({self._val_text})")
        return "  ".join(parts)

    # ---- hooks ----
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start_time, self._start_step = time.monotonic(), trainer.global_step
        self.tokens_per_step = self.tokens_per_micro_batch * trainer.accumulate_grad_batches * trainer.world_size
        self._window = (self._start_time, trainer.global_step)
        if trainer.global_step:
            self._line(f"resumed at step {trainer.global_step}/{trainer.max_steps}", permanent=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if (batch_idx + 1) % trainer.accumulate_grad_batches:
            return
        now, step = time.monotonic(), trainer.global_step
        if self._window is not None and now - self._window[0] >= 1.0 and step > self._window[1]:
            self._rate = (step - self._window[1]) * self.tokens_per_step / (now - self._window[0])
            self._window = (now, step)
        if self._tty:
            if now - self._last_draw >= 0.2 or step == trainer.max_steps:
                self._last_draw = now
                self._line(self.status(trainer), permanent=False)
        elif step % self.every == 0 or step == trainer.max_steps:
            self._line(self.status(trainer), permanent=False)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._tty and not trainer.sanity_checking:
            self._line(f"step {trainer.global_step}/{trainer.max_steps}  validating...", permanent=False)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if trainer.sanity_checking or "val_bits_per_base" not in metrics:
            return
        bits = float(metrics["val_bits_per_base"])
        self._val_text = f"val {bits:.3f} bits/{self.unit} at step {trainer.global_step}"
        loss = float(metrics["val_loss"]) if "val_loss" in metrics else float("nan")
        self._line(f"step {trainer.global_step}/{trainer.max_steps}  validation: {bits:.4f} bits/{self.unit}, "
                   f"loss {loss:.4f}", permanent=True)
        self._window = (time.monotonic(), trainer.global_step)  # validation time is not training throughput

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._tty:
            self._line(self.status(trainer), permanent=True)


class StopOnRequest(L.Callback):
    """Stops training at the end of the optimizer step during which :attr:`requested` became set (all ranks
    agree), so the checkpoint written afterwards is at a clean step boundary."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.stopped_at: int | None = None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if (batch_idx + 1) % trainer.accumulate_grad_batches:
            return
        stop = self.requested.is_set()
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            trainer.should_stop = True
            self.stopped_at = trainer.global_step


@contextlib.contextmanager
def graceful_interrupt(stopper: StopOnRequest, stream: TextIO | None = None) -> Iterator[None]:
    """While inside, the first SIGINT sets ``stopper.requested`` (and says so); a second one raises
    KeyboardInterrupt. Outside the main thread this does nothing (signals cannot be caught there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        if stopper.requested.is_set():
            raise KeyboardInterrupt
        stopper.requested.set()
        (stream or sys.stderr).write("\nCtrl-C: stopping at the end of this step and saving a checkpoint "
                                     "(press Ctrl-C again to stop at once)\n")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
