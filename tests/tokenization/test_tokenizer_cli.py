"""``biolm tokenizer train``."""

from __future__ import annotations

import json

import numpy as np

from bioLM.cli import main
from bioLM.synthetic import markov_dna, write_fasta_records
from bioLM.tokenization import load_tokenizer, tokenizer_spec


def test_train_kmer_and_bpe(tmp_path, capsys):
    assert main(["tokenizer", "train", "--kind", "kmer", "--k", "4", "--out", str(tmp_path / "k4")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["vocab_size"] == 5 + 256 + 1 + 16 and summary["padded_vocab_size"] == 320
    assert tokenizer_spec(load_tokenizer(tmp_path / "k4")).k == 4

    fasta = write_fasta_records(tmp_path / "t.fa", [("a", markov_dna(3000, np.random.default_rng(0)))])
    assert main(["tokenizer", "train", "--kind", "bpe", "--vocab-size", "60", "--chunk-size", "512",
                 str(fasta), "--out", str(tmp_path / "bpe")]) == 0
    assert len(load_tokenizer(tmp_path / "bpe")) == 60

    assert main(["tokenizer", "train", "--kind", "char", "--alphabet", "protein", "--out", str(tmp_path / "p")]) == 0
    assert tokenizer_spec(load_tokenizer(tmp_path / "p")).alphabet == "protein"


def test_user_errors_exit_2(tmp_path, capsys):
    assert main(["tokenizer", "train", "--kind", "bpe", "--out", str(tmp_path / "x")]) == 2
    assert "needs training FASTA" in capsys.readouterr().err
    assert main(["tokenizer", "train", "--kind", "kmer", "--k", "12", "--out", str(tmp_path / "y")]) == 2
    assert "k=12 is out of range" in capsys.readouterr().err
