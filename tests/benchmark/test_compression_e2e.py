"""Bits per residue on proteins, and the dna-small suite end to end on ../shared/data (skipped without it)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bioLM.benchmark.bits_per_base import file_bits_with_ci
from bioLM.cli import main
from bioLM.synthetic import random_protein, write_fasta_records

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data"


def test_bits_per_residue_of_a_random_model(tmp_path):
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="protein")
    torch.manual_seed(0)
    model = BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=32, n_embd=32))
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    fasta = write_fasta_records(tmp_path / "p.faa", [(f"p{i}", random_protein(70, rng)) for i in range(4)])
    result = file_bits_with_ci(tmp_path / "model", fasta, max_letters=200, n_boot=50, seed=0)
    assert result["unit"] == "residue" and result["letters"] == 200 and result["records"] == 3
    assert result["coding_units"] == 8  # windows of context - 1 = 31 residues: 3 + 3 + 2 (70, 70, 60 letters)
    value, (low, high) = result["model"]["value"], result["model"]["ci"]
    assert low <= value <= high and 3.5 < value < 7  # random init: near log2(vocabulary)
    assert "xz-9e" in result["classic"]


@pytest.mark.skipif(not (DATA / "tasks" / "dna" / "promoters_ecoli").is_dir(), reason="../shared/data absent")
def test_dna_small_suite_end_to_end(tmp_path):
    out = tmp_path / "bench"
    code = main(["benchmark", str(REPO / "benchmarks" / "suites" / "dna-small.yaml"), "--data-dir", str(DATA),
                 "--out", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    task = results["tasks"][0]
    rows = {r["method"]: r["metrics"] for r in task["rows"]}
    assert rows["kmer-4"]["auroc"]["value"] > 0.9
    assert rows["kmer-6"]["auroc"]["value"] > 0.9
    assert rows["embedding-lr"]["auroc"]["value"] > 0.75  # a 150-step model still beats chance clearly
    assert results["model"]["pretraining"]["final"]["val_bits_per_base"] < 2.05
    assert (out / "report.md").is_file() and (out / "plots" / "learning_curve.png").is_file()
