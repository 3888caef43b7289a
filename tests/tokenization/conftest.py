"""Shared tokenizers for the tokenization tests (built once per session; BPE trained on tiny synthetic data)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bioLM.synthetic import markov_dna, random_protein
from bioLM.tokenization import build_tokenizer


def overlapping(k: int = 3, stride: int = 1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_tokenizer("kmer", k=k, stride=stride)


@pytest.fixture(scope="session")
def make_overlapping():
    """Factory of overlapping k-mer tokenizers that silences the (tested) leakage warning."""
    return overlapping


@pytest.fixture(scope="session")
def dna_training() -> list[str]:
    rng = np.random.default_rng(7)
    return [markov_dna(3000, rng, motifs=("TATAAT", "GGATCC")) for _ in range(6)]


@pytest.fixture(scope="session")
def tokenizers(dna_training) -> dict:
    """One tokenizer of each kind, keyed by a short name."""
    rng = np.random.default_rng(8)
    return {
        "char": build_tokenizer("char"),
        "protein": build_tokenizer("char", alphabet="protein"),
        "kmer3": build_tokenizer("kmer", k=3),
        "kmer6": build_tokenizer("kmer", k=6),
        "overlap3": overlapping(3, 1),
        "overlap4s2": overlapping(4, 2),
        "bpe": build_tokenizer("bpe", vocab_size=200, sequences=dna_training, chunk_size=512),
        "bpe_protein": build_tokenizer("bpe", alphabet="protein", vocab_size=120,
                                       sequences=[random_protein(2000, rng) for _ in range(4)]),
    }
