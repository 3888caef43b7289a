"""Helpers of the training tests: tiny-run recipe overrides and a ``biolm`` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO_ROOT / "recipes" / "dna-char-tiny.yaml"


def tiny_overrides(corpus: Path, out_dir: Path, max_steps: int = 8, **extra: object) -> list[str]:
    """Overrides that shrink dna-char-tiny to a seconds-long fp32 run (2 layers, width 32, context 64)."""
    values = {
        "data.inputs": f"[{corpus}]", "data.micro_batch_size": 4, "data.val_fraction": 0.25,
        "model.context_length": 64, "model.overrides": "{n_embd: 32, n_head: 2}",
        "optim.warmup_steps": 3, "trainer.out_dir": str(out_dir), "trainer.max_steps": max_steps,
        "trainer.precision": "32-true", "trainer.accelerator": "cpu", "trainer.progress_bar": "false",
        "trainer.val_every": 4, "trainer.val_max_windows": 8, "trainer.checkpoint_every": 4,
        "trainer.log_every": 2, "trainer.peak_tflops": 1.0,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def biolm_process(tmp_path: Path, args: list[str], **kwargs) -> subprocess.Popen:
    """Start ``biolm ARGS`` as a subprocess (one thread, so runs are deterministic and light)."""
    script = tmp_path / "biolm_main.py"
    script.write_text("import sys\nfrom bioLM.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, str(script), *args], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
