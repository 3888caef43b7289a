"""Exact resume: a run killed with SIGKILL and resumed has the losses of an uninterrupted run, step for step."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch
from training_helpers import TINY_RECIPE, biolm_process, tiny_overrides

from bioLM.training.callbacks import read_losses
from bioLM.training.pretraining import pretrain
from bioLM.training.recipe import Recipe

STEPS = 24
COMMON = {"trainer.checkpoint_every": 8, "trainer.val_every": 12}


def _reference_run(out_dir: Path, corpus: Path) -> dict[int, float]:
    """The uninterrupted run, in this process with one thread (as the subprocesses)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pretrain(Recipe.from_yaml(TINY_RECIPE, tiny_overrides(corpus, out_dir, STEPS, **COMMON)))
    finally:
        torch.set_num_threads(threads)
    return read_losses(out_dir / "losses.tsv")


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path, corpus: Path) -> None:
    killed = tmp_path / "killed"
    args = ["pretrain", str(TINY_RECIPE), *tiny_overrides(corpus, killed, STEPS, **COMMON)]
    process = biolm_process(tmp_path, args)
    checkpoint = killed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    output, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL, output
    before = read_losses(killed / "losses.tsv")
    assert 8 <= max(before) < STEPS, "the run must be killed mid-way, after its first checkpoint"
    assert not (killed / "model").exists()

    resume = biolm_process(tmp_path, [*args, "--resume"])
    output, _ = resume.communicate(timeout=300)
    assert resume.returncode == 0, output
    assert "model written to" in output
    resumed = read_losses(killed / "losses.tsv")
    expected = _reference_run(tmp_path / "reference", corpus)
    assert sorted(expected) == sorted(resumed) == list(range(1, STEPS + 1))
    for step in range(1, STEPS + 1):
        assert resumed[step] == pytest.approx(expected[step], abs=1e-6), f"step {step}"


def test_resume_after_the_last_step_exports_complete_metrics(tmp_path: Path, corpus: Path) -> None:
    """Killed after the final checkpoint but before export: --resume trains nothing, and the export still has
    the final validation metrics (the checkpoint's, kept when the resumed run validates nothing)."""
    import json

    from bioLM.training.export import SUMMARY_FILE

    out = tmp_path / "run"
    overrides = tiny_overrides(corpus, out, 8)
    pretrain(Recipe.from_yaml(TINY_RECIPE, [*overrides, "trainer.export=false"]))  # the "kill" before export
    assert not (out / "model").exists()
    recipe = Recipe.from_yaml(TINY_RECIPE, overrides)
    recipe.resume = True
    summary = json.loads((pretrain(recipe) / SUMMARY_FILE).read_text())
    assert summary["step"] == 8
    assert summary["metrics"]["val_bits_per_base"] > 0
