"""The training loop reads tensors on the host (a device sync on GPU) about once per logged step, not per
micro-step: no ``float(loss)`` in the step, no progress-bar tensors converted after every batch."""

from __future__ import annotations

import collections
import traceback
from pathlib import Path

import lightning as L
import pytest
import torch
from training_helpers import TINY_RECIPE, tiny_overrides

import bioLM.training.pretraining as pretraining
from bioLM.training.recipe import Recipe

STEPS, LOG_EVERY = 16, 8


def test_host_reads_per_logged_step_not_per_micro_step(tmp_path: Path, corpus: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    reads: collections.Counter = collections.Counter()
    inside = {"training": False}

    for name in ("item", "tolist", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            caller = traceback.extract_stack(limit=2)[0]
            # the optimizer's step counters are CPU tensors even on a GPU (no sync): not counted
            if inside["training"] and "torch/optim" not in caller.filename.replace("\\", "/"):
                reads[(_name, Path(caller.filename).name, caller.lineno)] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)

    class Window(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            inside["training"] = True

        def on_train_end(self, trainer, pl_module) -> None:
            inside["training"] = False

    build = pretraining.build_trainer
    monkeypatch.setattr(pretraining, "build_trainer",
                        lambda recipe, out, callbacks, step=0: build(recipe, out, [*callbacks, Window()], step))
    overrides = tiny_overrides(corpus, tmp_path / "run", STEPS, **{
        "trainer.export": "false", "trainer.log_every": LOG_EVERY, "trainer.val_every": 1000,
        "trainer.checkpoint_every": 1000, "trainer.accumulate_grad_batches": 2})
    pretraining.pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    micro_steps = 2 * STEPS
    # 2 logged steps: the loggers' few metrics and one read of the pending losses each
    assert 0 < sum(reads.values()) <= 8 * STEPS // LOG_EVERY < micro_steps, reads
