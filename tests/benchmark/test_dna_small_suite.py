"""`biolm benchmark benchmarks/suites/dna-small.yaml` end to end on the real E. coli promoters (issue 7).

Runs in CI when ../shared/data exists (a few minutes on one core) and skips cleanly when it does not. The
checks are sanity bounds a broken pipeline fails: the 4-mer baseline separates sigma-70 promoters from
non-promoters (AUROC > 0.9, the README of shared/ quotes ~0.95), the pretrained model codes held-out phage
lambda in fewer bits per base than 2 (a model that learned nothing sits at ~2.0), and the report and plots
are written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "benchmarks" / "suites" / "dna-small.yaml"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def dna_small_run(tmp_path_factory):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    out = tmp_path_factory.mktemp("bench-dna-small")
    subprocess.run([sys.executable, "-m", "bioLM.cli", "benchmark", str(SUITE), "--data-dir", str(SHARED_DATA),
                    "--out", str(out)], check=True, timeout=900)
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.data
@pytest.mark.slow
def test_dna_small_suite_results_are_sane(dna_small_run):
    out, results = dna_small_run
    tasks = {task["name"]: task for task in results["tasks"]}
    rows = {row["method"]: row["metrics"] for row in tasks["ecoli-promoters"]["rows"]}
    assert {"kmer-4", "kmer-6", "cnn", "embedding-lr", "extractive-lr", "abstractive-lr"} <= set(rows)
    kmer_auroc = rows["kmer-4"]["auroc"]
    assert kmer_auroc["value"] > 0.9
    assert kmer_auroc["ci"][0] <= kmer_auroc["value"] <= kmer_auroc["ci"][1]
    assert len(kmer_auroc["seeds"]) == 2  # the suite's two seeds
    assert rows["embedding-lr"]["auroc"]["value"] > 0.6  # frozen embeddings of the pretrained model carry signal
    (phage,) = tasks["bits-lambda-phage"]["files"]
    assert 1.0 < phage["model"]["value"] < 2.0  # learned something: below the 2-bit code
    assert {"gzip-9", "bzip2-9", "xz-9e"} <= set(phage["classic"])
    assert results["model"]["pretraining"]["final"]["val_bits_per_base"] < 2.0
    report = (out / "report.md").read_text()
    assert "### ecoli-promoters" in report and "| method | role | auroc | mcc | accuracy |" in report
    assert results["plots"] and all((out / p).is_file() for p in results["plots"])
