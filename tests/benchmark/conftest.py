"""A tiny random-init DNA model (char tokenizer, context 64), a planted-motif task folder, per session, and the
benchmark scripts as modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from bioLM.synthetic import planted_motif_dataset, write_fasta_records

MOTIF = "TATAATGC"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    directory = tmp_path_factory.mktemp("tiny_model")
    tokenizer = build_tokenizer("char", alphabet="dna")
    config = config_from_preset("tiny", len(tokenizer), block_size=64, n_embd=32)
    torch.manual_seed(0)
    BioLMForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def planted(n: int, length: int = 60, seed: int = 0) -> tuple[list[str], np.ndarray]:
    sequences, labels, _ = planted_motif_dataset(n, length, MOTIF, np.random.default_rng(seed))
    return sequences, labels


@pytest.fixture(name="planted")
def planted_fixture():
    """``planted(n, length=60, seed=0) -> (sequences, labels)``: half carry the motif."""
    return planted


@pytest.fixture(scope="session")
def motif_task(tmp_path_factory) -> Path:
    """A FASTA-per-class folder: 'absent' and 'present' (the motif planted), 60 sequences each."""
    folder = tmp_path_factory.mktemp("data") / "tasks" / "motif"
    folder.mkdir(parents=True)
    sequences, labels = planted(120)
    for label, name in ((0, "absent"), (1, "present")):
        records = [(f"{name}{i}", s) for i, (s, y) in enumerate(zip(sequences, labels)) if y == label]
        write_fasta_records(folder / f"{name}.fa", records)
    return folder


def _load_script(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(name="benchmark_script")
def benchmark_script_fixture():
    """``benchmark_script(name)``: the script ``benchmarks/<name>.py`` loaded as a module (they are not a package)."""
    return _load_script
