from __future__ import annotations

import numpy as np
import pytest

from bioLM.cli import main
from bioLM.errors import AlphabetError, ConfigError
from bioLM.generation import GenerateOptions, generate, generate_sequences
from bioLM.io import read_fastx
from bioLM.model.loading import load as load_model
from bioLM.scoring.likelihood import log_likelihoods


def test_seeded_reproducible_and_described(tmp_path, random_dna_dir):
    first = generate(random_dna_dir, tmp_path / "a.fa", n=3, max_length=20, seed=7, device="cpu")
    again = generate(random_dna_dir, tmp_path / "b.fa", n=3, max_length=20, seed=7, device="cpu")
    other = generate(random_dna_dir, None, n=3, max_length=20, seed=8, device="cpu")
    assert [s.sequence for s in first] == [s.sequence for s in again]
    assert [s.sequence for s in first] != [s.sequence for s in other]
    records = list(read_fastx(tmp_path / "a.fa"))
    assert [r.id for r in records] == ["gen_1", "gen_2", "gen_3"]
    assert "seed=7" in records[0].description and "temperature=1.0" in records[0].description
    assert "mean_ll=" in records[0].description
    assert all(0 < len(s.sequence) <= 20 and set(s.sequence) <= set("ACGTNRYSWKMBDHV-") for s in first)


def test_prompt_kept_mean_ll_matches_and_eos_stops(random_dna_dir):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    result = generate_sequences(model, tokenizer, GenerateOptions(n=4, max_length=30, prompt="acgt", seed=1))
    assert all(s.sequence.startswith("ACGT") for s in result)
    sums, counts = log_likelihoods(model, tokenizer, [s.sequence for s in result])
    np.testing.assert_allclose([s.mean_log_likelihood for s in result], sums / counts, rtol=1e-6)
    assert all(s.stopped_at_eos or len(s.sequence) == 34 for s in result)
    assert all(s.n_tokens == len(s.sequence) for s in result)  # no special or out-of-vocabulary tokens


def test_bad_prompt_and_too_long(random_dna_dir):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    with pytest.raises(AlphabetError, match=r"record 'prompt'.*'J' at position 2"):
        generate_sequences(model, tokenizer, GenerateOptions(n=1, max_length=5, prompt="ACJT"))
    with pytest.raises(ConfigError, match="exceeds the model's context of 128"):
        generate_sequences(model, tokenizer, GenerateOptions(n=1, max_length=200))
    with pytest.raises(ConfigError, match="top_p=0"):
        GenerateOptions(top_p=0)


def test_cli_generate(tmp_path, random_dna_dir, capsys):
    code = main(["generate", "--model", str(random_dna_dir), "--n", "2", "--max-length", "10", "--top-k", "3",
                 "--out", str(tmp_path / "g.fa"), "--device", "cpu"])
    assert code == 0 and "wrote 2 sequences" in capsys.readouterr().out
    assert len(list(read_fastx(tmp_path / "g.fa"))) == 2
    code = main(["generate", "--model", str(random_dna_dir), "--prompt", "AC!", "--device", "cpu"])
    assert code == 2 and "'!' at position 2" in capsys.readouterr().err
