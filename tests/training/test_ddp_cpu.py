"""Two-process DDP on CPU (gloo) matches one process with the same global batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_helpers import TINY_RECIPE, biolm_process, tiny_overrides

from bioLM.training.callbacks import read_losses
from bioLM.training.export import load_checkpoint
from bioLM.training.pretraining import pretrain
from bioLM.training.recipe import Recipe

STEPS = 6
COMMON = {"trainer.val_every": 6, "trainer.export": "false"}


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path: Path, corpus: Path) -> None:
    ddp = tmp_path / "ddp"
    args = ["pretrain", str(TINY_RECIPE),
            *tiny_overrides(corpus, ddp, STEPS, **COMMON, **{"data.micro_batch_size": 2, "trainer.devices": 2,
                                                              "trainer.strategy": "ddp"})]
    process = biolm_process(tmp_path, args)
    output, _ = process.communicate(timeout=400)
    assert process.returncode == 0, output

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # the same global batch (2 x 2 windows) in one process
        single = tmp_path / "single"
        pretrain(Recipe.from_yaml(TINY_RECIPE, tiny_overrides(corpus, single, STEPS, **COMMON,
                                                              **{"data.micro_batch_size": 4})))
    finally:
        torch.set_num_threads(threads)

    expected, got = read_losses(single / "losses.tsv"), read_losses(ddp / "losses.tsv")
    assert sorted(got) == sorted(expected) == list(range(1, STEPS + 1))
    for step in expected:
        assert got[step] == pytest.approx(expected[step], abs=1e-5), f"step {step}"
    bpb = [load_checkpoint(d / "checkpoints" / "last.ckpt")["biolm"]["metrics"]["val_bits_per_base"]
           for d in (single, ddp)]
    assert bpb[1] == pytest.approx(bpb[0], abs=1e-5)
