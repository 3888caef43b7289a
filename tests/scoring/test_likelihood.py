from __future__ import annotations

import numpy as np
import pytest
import torch

from bioLM.errors import AlphabetError, ConfigError
from bioLM.model.loading import load as load_model
from bioLM.scoring.likelihood import LikelihoodOptions, log_likelihoods


def direct(model, tokenizer, sequence: str) -> float:
    """Reference: one unpadded forward pass, sum of log p(t_i | <bos>, t_<i)."""
    ids = [tokenizer.bos_token_id] + tokenizer(sequence, add_special_tokens=False)["input_ids"]
    x = torch.tensor([ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=x).logits[0, :-1].float(), dim=-1)
    return float(logp.gather(-1, x[0, 1:, None]).sum())


def test_matches_direct_computation_in_any_batching(random_dna_dir, rng):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in (5, 40, 17, 1, 33, 40)]
    expected = np.array([direct(model, tokenizer, s) for s in sequences])
    for budget in (1, 64, 10_000):
        sums, counts = log_likelihoods(model, tokenizer, sequences, LikelihoodOptions(max_tokens=budget))
        np.testing.assert_allclose(sums, expected, rtol=1e-5, atol=1e-4)
        assert counts.tolist() == [5, 40, 17, 1, 33, 40]
    assert (expected < 0).all()


def test_bf16_close_to_fp32(random_dna_dir):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    seqs = ["ACGTACGTTTGACCA" * 3, "GGGCCCAAT"]
    full, _ = log_likelihoods(model, tokenizer, seqs)
    half, _ = log_likelihoods(model, tokenizer, seqs, LikelihoodOptions(precision="bf16"))
    np.testing.assert_allclose(half, full, rtol=0.05)


def test_character_outside_alphabet_is_named(random_dna_dir):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    with pytest.raises(AlphabetError, match=r"record 'bad'.*'J' at position 3"):
        log_likelihoods(model, tokenizer, ["ACGT", "ACGJT"], names=["ok", "bad"])


def test_longer_than_context_is_an_error(random_dna_dir):
    model, tokenizer = load_model(random_dna_dir, device="cpu")
    with pytest.raises(ConfigError, match="context of 128"):
        log_likelihoods(model, tokenizer, ["A" * 200])


def test_overlapping_kmer_tokenizer_is_refused(random_dna_dir):
    tokenization = pytest.importorskip("bioLM.tokenization")
    with pytest.warns(UserWarning):
        tokenizer = tokenization.build_tokenizer("kmer", alphabet="dna", k=3, stride=1)
    model, _ = load_model(random_dna_dir, device="cpu")
    with pytest.raises(ConfigError, match="overlapping k-mers"):
        log_likelihoods(model, tokenizer, ["ACGTACGT"])
