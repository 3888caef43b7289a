"""embed(): shapes, order under sorting, padding exclusion, layers, windows, per-base mapping, strands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bioLM.alphabet import reverse_complement
from bioLM.embedding import embed
from bioLM.embedding.pooling import pool
from bioLM.embedding.windows import WindowAggregator, window_starts
from bioLM.errors import ConfigError, InputFormatError
from bioLM.model.batching import token_budget_batches
from bioLM.synthetic import random_dna
from bioLM.tokenization import tokens_to_bases

CONTEXT = 32  # the context of the conftest model (tokens, <bos> included)

ATOL = 1e-5


def _seqs(rng, lengths):
    return [random_dna(n, rng) for n in lengths]


def test_token_budget_batches_sorted_and_within_budget():
    lengths = [5, 30, 7, 30, 1, 12]
    batches = token_budget_batches(lengths, max_tokens=60)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 60
    assert batches[0] == [1, 3]  # longest first
    assert batches[1:] == [[5], [2], [0], [4]]  # no item padded by more than 25%
    assert token_budget_batches(lengths, 1000, sort=False) == [[0, 1, 2, 3, 4, 5]]
    assert token_budget_batches([100], 10) == [[0]]  # too long for the budget: alone


def test_pool_methods_golden():
    hidden = torch.tensor([[[9.0, 9.0], [1.0, 2.0], [3.0, 0.0], [7.0, 7.0]]])  # (1, 4, 2): bos, 2 tokens, pad
    content = torch.tensor([[False, True, True, False]])
    assert pool(hidden, content, "mean", True).tolist() == [[2.0, 1.0]]
    assert pool(hidden, content, "max", True).tolist() == [[3.0, 2.0]]
    assert pool(hidden, content, "last", True).tolist() == [[3.0, 0.0]]
    assert pool(hidden, content, "first", True).tolist() == [[9.0, 9.0]]
    assert pool(hidden, content, "first", False).tolist() == [[1.0, 2.0]]


def test_window_starts_and_average():
    assert window_starts(10, 31, 4) == [0]
    assert window_starts(100, 31, 8) == [0, 23, 46, 69]
    with pytest.raises(ConfigError, match="overlap=31"):
        window_starts(100, 31, 31)
    aggregator = WindowAggregator(5, 1)
    aggregator.add(0, np.array([[1.0], [1.0], [1.0]]))
    aggregator.add(2, np.array([[3.0], [5.0], [5.0]]))
    assert aggregator.result()[:, 0].tolist() == [1.0, 1.0, 2.0, 5.0, 5.0]


def test_tokens_to_bases_covering_token():
    tokens = np.array([[1.0], [2.0], [3.0]])
    offsets = np.array([[0, 3], [3, 6], [6, 8]])
    assert tokens_to_bases(tokens, offsets, 8)[:, 0].tolist() == [1, 1, 1, 2, 2, 2, 3, 3]
    overlapping = np.array([[0, 3], [1, 4], [2, 5]])  # k=3, stride 1: covering tokens are averaged
    assert tokens_to_bases(tokens, overlapping, 5)[:, 0].tolist() == [1, 1.5, 2, 2.5, 3]


def test_shapes_layers_and_order(loaded, rng):
    model, tokenizer = loaded
    sequences = _seqs(rng, [3, 25, 9, 17, 1, 30])
    result = embed(sequences, model, tokenizer, layers="all", max_tokens=40)
    assert sorted(result) == [0, 1, 2]  # embedding output + 2 blocks
    assert all(v.shape == (6, 32) and v.dtype == np.float32 for v in result.values())
    alone = [embed([s], model, tokenizer, layers=[-1, 0])[-1][0] for s in sequences]
    np.testing.assert_allclose(result[2], np.stack(alone), atol=ATOL)  # input order kept, -1 == last
    assert not np.allclose(result[2][0], result[2][1])
    with pytest.raises(ConfigError, match="layer 3 does not exist"):
        embed(sequences, model, tokenizer, layers=[3])


@pytest.mark.parametrize("pooling", ["mean", "max", "last", "first"])
def test_padding_excluded(loaded, rng, pooling):
    model, tokenizer = loaded
    short, long = _seqs(rng, [4, 30])
    alone = embed([short], model, tokenizer, pooling=pooling)[-1][0]
    batched = embed([short, long], model, tokenizer, pooling=pooling, max_tokens=10_000)[-1][0]
    np.testing.assert_allclose(batched, alone, atol=ATOL)


def test_per_token_matches_mean(loaded, rng):
    model, tokenizer = loaded
    sequences = _seqs(rng, [5, 12])
    tokens = embed(sequences, model, tokenizer, pooling="per-token")[-1]
    assert [t.shape for t in tokens] == [(5, 32), (12, 32)]
    mean = embed(sequences, model, tokenizer)[-1]
    np.testing.assert_allclose(np.stack([t.mean(0) for t in tokens]), mean, atol=ATOL)


def test_too_long_without_windows_suggests_flag(loaded, rng):
    model, tokenizer = loaded
    with pytest.raises(InputFormatError, match=r"record 'long'.*--window-overlap"):
        embed(_seqs(rng, [CONTEXT]), model, tokenizer, ids=["long"])


def test_windows_reproduce_per_base_outside_overlaps(loaded, rng):
    model, tokenizer = loaded
    window, overlap = CONTEXT - 1, 7
    sequence = _seqs(rng, [80])[0]
    bases = embed([sequence], model, tokenizer, pooling="per-base", window_overlap=overlap)[-1][0]
    assert bases.shape == (80, 32)
    starts = window_starts(80, window, overlap)  # [0, 24, 49]
    pieces = [embed([sequence[s:s + window]], model, tokenizer, pooling="per-base")[-1][0] for s in starts]
    np.testing.assert_allclose(bases[:starts[1]], pieces[0][:starts[1]], atol=ATOL)  # only window 0
    only_1 = slice(starts[0] + window, starts[2])
    np.testing.assert_allclose(bases[only_1], pieces[1][only_1.start - starts[1]:only_1.stop - starts[1]],
                               atol=ATOL)
    shared = slice(starts[1], starts[0] + window)  # windows 0 and 1: averaged
    np.testing.assert_allclose(bases[shared], (pieces[0][shared] + pieces[1][:shared.stop - starts[1]]) / 2,
                               atol=ATOL)
    mean = embed([sequence], model, tokenizer, window_overlap=overlap)[-1][0]
    np.testing.assert_allclose(mean, bases.mean(0), atol=ATOL)  # streamed mean == mean of aggregated states
    for pooling, expected in (("max", bases.max(0)), ("last", bases[-1])):
        pooled = embed([sequence], model, tokenizer, pooling=pooling, window_overlap=overlap)[-1][0]
        np.testing.assert_allclose(pooled, expected, atol=ATOL)


def test_reverse_complement_average(loaded, rng):
    model, tokenizer = loaded
    sequence = _seqs(rng, [20])[0]
    both = embed([sequence], model, tokenizer, reverse_complement_average=True)[-1][0]
    forward = embed([sequence], model, tokenizer)[-1][0]
    reverse = embed([reverse_complement(sequence)], model, tokenizer)[-1][0]
    np.testing.assert_allclose(both, (forward + reverse) / 2, atol=ATOL)
    per_base = embed([sequence], model, tokenizer, pooling="per-base", reverse_complement_average=True)[-1][0]
    f = embed([sequence], model, tokenizer, pooling="per-base")[-1][0]
    r = embed([reverse_complement(sequence)], model, tokenizer, pooling="per-base")[-1][0]
    np.testing.assert_allclose(per_base, (f + r[::-1]) / 2, atol=ATOL)
    with pytest.raises(ConfigError, match="per-base"):
        embed([sequence], model, tokenizer, pooling="per-token", reverse_complement_average=True)


def test_bad_pooling_message(loaded):
    model, tokenizer = loaded
    with pytest.raises(ConfigError, match="pooling='median'"):
        embed(["ACGT"], model, tokenizer, pooling="median")


def test_per_base_through_kmer_offsets(tmp_path, rng):
    from bioLM.embedding import load
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("kmer", alphabet="dna", k=3)
    torch.manual_seed(0)
    BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=16, n_embd=32)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, tokenizer = load(tmp_path, device="cpu")
    sequence = random_dna(10, rng)  # tokens ACG|TAC|GTA|C: the last one covers a single base
    tokens = embed([sequence], model, tokenizer, pooling="per-token")[-1][0]
    bases = embed([sequence], model, tokenizer, pooling="per-base")[-1][0]
    assert tokens.shape == (4, 32) and bases.shape == (10, 32)
    np.testing.assert_allclose(bases, tokens[[0, 0, 0, 1, 1, 1, 2, 2, 2, 3]], atol=ATOL)
