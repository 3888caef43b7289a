"""The training display (one line on a terminal, plain lines in a log), Ctrl-C, and resumed logs."""

from __future__ import annotations

import csv
import io
import os
import signal
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from training_helpers import TINY_RECIPE, biolm_process, tiny_overrides

from bioLM.errors import ConfigError
from bioLM.training.callbacks import read_losses
from bioLM.training.pretraining import pretrain
from bioLM.training.progress import TrainingProgress, format_duration, format_rate
from bioLM.training.recipe import Recipe


def fake_trainer(step: int, **metrics: float) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, max_steps=600, callback_metrics=metrics, sanity_checking=False)


def test_status_line_has_step_loss_bits_rate_and_eta() -> None:
    progress = TrainingProgress(unit="residue", stream=io.StringIO(), interactive=False)
    progress._start_time, progress._start_step, progress._rate = time.monotonic() - 100.0, 100, 12345.0
    text = progress.status(fake_trainer(200, train_loss=1.23456, train_bits_per_base=1.7812))
    assert text == "step 200/600  loss 1.2346  1.781 bits/residue  12.3k tok/s  ETA 6m40s"
    assert format_duration(3725) == "1h02m" and format_duration(9) == "9s" and format_rate(512) == "512 tok/s"


def test_terminal_mode_rewrites_one_line() -> None:
    stream = io.StringIO()
    progress = TrainingProgress(stream=stream, interactive=True)
    progress._line("step 1/600", permanent=False)
    progress._line("step 2/600", permanent=False)
    assert stream.getvalue() == "\rstep 1/600\x1b[K\rstep 2/600\x1b[K"


def test_log_mode_prints_plain_lines_while_training(tmp_path: Path, corpus: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    overrides = tiny_overrides(corpus, tmp_path / "out", 8, **{"trainer.progress_bar": "true",
                                                              "trainer.export": "false"})
    pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    lines = capsys.readouterr().err.splitlines()
    steps = [line.split()[1] for line in lines if line.startswith("step ") and "loss" in line.split()[2:3]]
    assert steps == ["2/8", "4/8", "6/8", "8/8"]  # trainer.log_every=2
    assert sum("validation:" in line and "bits/base" in line for line in lines) == 2
    assert not any("Epoch" in line or "v_num" in line or "\r" in line for line in lines)


def test_tensorboard_logger_is_optional(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = tiny_overrides(corpus, tmp_path / "o", 1, **{"trainer.export": "false",
                                                            "trainer.loggers": "[csv, wandb]"})
    with pytest.raises(ConfigError, match="wandb"):
        pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    pytest.importorskip("tensorboard")
    overrides = tiny_overrides(corpus, tmp_path / "tb", 2, **{"trainer.export": "false",
                                                             "trainer.loggers": "[csv, tensorboard]"})
    pretrain(Recipe.from_yaml(TINY_RECIPE, overrides))
    assert list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "tb" / "logs" / "metrics.csv").is_file() and not list((tmp_path / "tb").glob("logs/version_*"))


@pytest.mark.slow
def test_ctrl_c_saves_and_says_how_to_resume_then_logs_continue_without_duplicates(tmp_path: Path,
                                                                                  corpus: Path) -> None:
    out = tmp_path / "run"
    args = ["pretrain", str(TINY_RECIPE), *tiny_overrides(corpus, out, 40, **{"trainer.progress_bar": "true"})]
    process = biolm_process(tmp_path, args)
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "last.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 130, output
    assert "Traceback" not in output and f"biolm pretrain {out / 'recipe.yaml'} --resume" in output
    stopped = max(read_losses(out / "losses.tsv"))
    assert 4 <= stopped < 40 and f"stopped at step {stopped}/40" in output
    pretrain(Recipe.from_yaml(out / "recipe.yaml", ["resume=true", "trainer.progress_bar=false"]))
    steps = [int(line.split("\t")[0]) for line in (out / "losses.tsv").read_text().splitlines()]
    assert steps == list(range(1, 41))  # one row per step, none repeated
    with open(out / "logs" / "metrics.csv", newline="") as handle:
        rows = Counter((r["step"], bool(r["val_loss"])) for r in csv.DictReader(handle))
    assert max(rows.values()) == 1 and not list(out.glob("logs/version_*"))
