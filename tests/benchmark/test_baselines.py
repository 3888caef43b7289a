"""Baselines on a planted-motif task made in the test."""

import numpy as np

from bioLM.benchmark.baselines import cnn, kmer_lr, one_hot, run_baseline
from bioLM.benchmark.metrics import auroc
from bioLM.benchmark.suite import Budget


def test_kmer_baseline_finds_a_planted_motif(planted):
    sequences, labels = planted(400, length=80)
    for k in (4, 6):
        proba = kmer_lr(sequences[:300], labels[:300], sequences[300:], k)
        assert proba.shape == (100, 2)
        assert auroc(labels[300:], proba) > 0.9, k


def test_cnn_learns_the_motif_and_is_seeded(planted):
    sequences, labels = planted(300, length=60, seed=1)
    budget = Budget(epochs=8, batch_size=32, learning_rate=5e-3)
    proba = cnn(sequences[:240], labels[:240], sequences[240:], "dna", budget, seed=0)
    assert np.allclose(proba.sum(1), 1, atol=1e-5)
    assert auroc(labels[240:], proba) > 0.8
    again = cnn(sequences[:240], labels[:240], sequences[240:], "dna", budget, seed=0)
    np.testing.assert_allclose(proba, again, atol=1e-6)


def test_one_hot_ignores_non_canonical_letters():
    x = one_hot(["ACGN", "T"], "dna", 4).numpy()
    assert x.shape == (2, 4, 4)
    assert x[0].sum(0).tolist() == [1, 1, 1, 0] and x[1, 3, 0] == 1 and x[1].sum() == 1


def test_amino_acid_composition_baseline():
    rng = np.random.default_rng(0)
    rich = ["".join(rng.choice(list("KKKRRDE"), 50)) for _ in range(60)]
    poor = ["".join(rng.choice(list("LLIVDEA"), 50)) for _ in range(60)]
    sequences = [s for pair in zip(rich, poor) for s in pair]
    labels = np.array([1, 0] * 60)
    proba = run_baseline("aa-composition", sequences[:80], labels[:80], sequences[80:], "protein", Budget(), 0)
    assert auroc(labels[80:], proba) > 0.95
