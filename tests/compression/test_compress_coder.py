"""The range coder (constriction), the fixed-width fallback, the lane coder and the static-cache stepper."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bioLM.compression.coder import RangeDecoder, RangeEncoder, pack_symbols, symbol_width, unpack_symbols
from bioLM.compression.lanes import decode_grid, encode_grid, lane_grid, stream_of
from bioLM.compression.stepper import lane_sizes
from bioLM.synthetic import markov_dna


def test_range_coder_round_trip_near_the_ideal_size():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(4, 0.3), size=5000).astype(np.float32)  # (n, 4) peaked rows
    symbols = np.array([rng.choice(4, p=p / p.sum()) for p in probabilities.astype(np.float64)])
    encoder = RangeEncoder()
    encoder.encode(symbols[:3000], probabilities[:3000])
    encoder.encode(symbols[3000:], probabilities[3000:])
    data = encoder.finish()
    decoder = RangeDecoder(data)
    decoded = np.concatenate([decoder.decode(probabilities[i:i + 700]) for i in range(0, 5000, 700)])
    assert (decoded == symbols).all()
    ideal = -np.log2(probabilities[np.arange(5000), symbols]).sum()
    assert ideal < 8 * len(data) < ideal * 1.01 + 64


@pytest.mark.parametrize("vocab, width", [(4, 2), (84, 7), (2, 1)])
def test_fixed_width_fallback(vocab, width):
    symbols = np.random.default_rng(1).integers(0, vocab, 1001)
    assert symbol_width(vocab) == width
    packed = pack_symbols(symbols, width)
    assert len(packed) == -(-1001 * width // 8)
    assert (unpack_symbols(packed, 1001, width) == symbols).all()


def test_static_stepper_is_the_model_with_a_sliding_window(coding_model):
    """Each prediction attends to the last ``context`` positions in every layer: the model's own forward pass
    under a banded causal mask, over sequences twice as long as the ring."""
    from bioLM.compression.static_stepper import StaticLaneStepper

    ids, context = coding_model.alphabet.ids, 16
    static = StaticLaneStepper(coding_model.model, ids, 3, context)
    rng = np.random.default_rng(2)
    tokens = torch.as_tensor(ids[rng.integers(0, 4, (3, 3 * context))])  # (L, T)
    fed = torch.cat([torch.full((3, 1), coding_model.start_id), tokens], 1)  # (L, T + 1)
    T = fed.shape[1]
    i, j = torch.arange(T)[:, None], torch.arange(T)[None]
    band = ((j <= i) & (i - j < context))[None, None].expand(3, 1, T, T)
    with torch.inference_mode():
        reference = coding_model.model(input_ids=fed, attention_mask=band).logits[..., torch.as_tensor(ids)]
        stepped = torch.stack([static.start()] + [static.feed(tokens[:, t]) for t in range(tokens.shape[1])], 1)
    torch.testing.assert_close(stepped, reference.float(), rtol=1e-4, atol=1e-4)


def test_bf16_stepper_is_close_and_follows_weight_updates(coding_model):
    """bf16 weights and cache: logits close to fp32's; weights changed in place (adaptive mode) are picked up."""
    from bioLM.compression.static_stepper import StaticLaneStepper

    ids, model = coding_model.alphabet.ids, copy.deepcopy(coding_model.model)
    fp32 = StaticLaneStepper(model, ids, 3, coding_model.context)
    bf16 = StaticLaneStepper(model, ids, 3, coding_model.context, dtype=torch.bfloat16)
    rng = np.random.default_rng(5)
    with torch.inference_mode():
        torch.testing.assert_close(bf16.start(), fp32.start(), rtol=0.05, atol=0.05)
        for _ in range(coding_model.context + 3):
            tokens = torch.as_tensor(ids[rng.integers(0, 4, 3)])
            torch.testing.assert_close(bf16.feed(tokens), fp32.feed(tokens), rtol=0.05, atol=0.05)
        before = fp32.feed(tokens)
        fp32.position -= 1  # feed the same tokens at the same position again
        model.model.norm.weight.mul_(2.0)  # folded into the stepper's output matrix: every logit doubles
        torch.testing.assert_close(fp32.feed(tokens), 2 * before)


@pytest.mark.parametrize("together", [False, True])
def test_streams_give_the_same_results_in_workers_and_here(monkeypatch, together):
    """Each stream runs in a forked worker with one torch thread, or here (one after another, or on threads
    when they must meet at barriers): same results; a failing stream breaks the others' barrier, and its own
    error is the one raised."""
    from bioLM.compression import streams

    def work(index: int, barrier) -> tuple[int, float]:
        torch.manual_seed(index)
        a = torch.randn(64, 64)
        if barrier is not None:
            barrier.wait()
        return torch.get_num_threads(), float((a @ a).sum())

    def failing(index: int, barrier) -> None:
        if index == 1:
            raise ValueError("stream 2 is damaged")
        barrier.wait()

    assert streams.stream_sizes(10 * 64 * 8, 3, 8) == [1707, 1707, 1706]
    assert streams.stream_sizes(2 * 64 * 8 - 1, 3, 8) == [1023]  # too short for two streams
    in_workers = streams.run_streams(work, 2, together)
    if together:
        with pytest.raises(ValueError, match="stream 2 is damaged"):
            streams.run_streams(failing, 2, together=True)
    monkeypatch.setattr(streams, "available_cores", lambda: 1)
    here = streams.run_streams(work, 2, together)
    assert in_workers == here and {threads for threads, _ in here} == {1}
    if together:
        with pytest.raises(ValueError, match="stream 2 is damaged"):
            streams.run_streams(failing, 2, together=True)


@pytest.mark.parametrize("block_steps", [7, 1000])
def test_lane_coder_round_trip_with_model_and_fallback_blocks(coding_model, block_steps):
    symbols = coding_model.symbols(markov_dna(997, np.random.default_rng(3), order=2))
    grid = lane_grid(symbols, lanes=5, min_lane_tokens=10)
    assert (stream_of(grid) == symbols).all()
    ids = coding_model.alphabet.ids
    coded = encode_grid(coding_model.stepper(5), ids, grid, block_steps)
    assert coded.model_mask.shape == (-(-grid.shape[1] // block_steps), 5)
    decoded = decode_grid(coding_model.stepper(5), ids, lane_sizes(997, 5, 10), coded, block_steps)
    assert (decoded == grid).all()
    # a random-init model is near 2 bits: never more than 2 bits per base plus a small margin
    assert 8 * (len(coded.payload) + len(coded.fallback)) <= 2 * 997 + 64


def test_copy_model_makes_repeats_cheap(coding_model):
    """A sequence repeated later in the stream: the copy model codes the second copy at far below 2 bits."""
    from bioLM.synthetic import random_dna

    unit = random_dna(500, np.random.default_rng(6))
    symbols = coding_model.symbols(unit + random_dna(100, np.random.default_rng(7)) + unit)
    grid = lane_grid(symbols, lanes=1, min_lane_tokens=10)
    ids = coding_model.alphabet.ids
    plain = encode_grid(coding_model.stepper(1), ids, grid, 64)
    copied = encode_grid(coding_model.stepper(1), ids, grid, 64, match_order=12)
    assert 8 * (len(copied.payload) + len(copied.fallback)) < 0.7 * 8 * (len(plain.payload) + len(plain.fallback))
    decoded = decode_grid(coding_model.stepper(1), ids, lane_sizes(1100, 1, 10), copied, 64, match_order=12)
    assert (decoded == grid).all()


def test_copy_model_reads_reverse_complements(coding_model):
    """An inverted repeat (a sequence, then its reverse complement) is cheap too, and decodes exactly."""
    from bioLM.compression.lanes import complement_of
    from bioLM.synthetic import random_dna

    unit = random_dna(500, np.random.default_rng(8))
    reverse = unit[::-1].translate(str.maketrans("ACGT", "TGCA"))
    symbols = coding_model.symbols(unit + random_dna(100, np.random.default_rng(9)) + reverse)
    grid = lane_grid(symbols, lanes=1, min_lane_tokens=10)
    ids, texts = coding_model.alphabet.ids, coding_model.alphabet.texts
    assert complement_of(texts).tolist() == [texts.index(t.translate(str.maketrans("ACGT", "TGCA"))) for t in texts]
    forward_only = encode_grid(coding_model.stepper(1), ids, grid, 64, match_order=12)
    both = encode_grid(coding_model.stepper(1), ids, grid, 64, match_order=12, texts=texts)
    assert len(both.payload) + len(both.fallback) < 0.7 * (len(forward_only.payload) + len(forward_only.fallback))
    decoded = decode_grid(coding_model.stepper(1), ids, lane_sizes(1100, 1, 10), both, 64, match_order=12,
                          texts=texts)
    assert (decoded == grid).all()


def test_backward_copies_never_read_uncoded_columns(coding_model):
    """Lane 2 is the reverse complement of lane 1: its backward copy reaches lane 1's first column while
    lane 0's last columns are not coded yet; the decoder must see exactly what the encoder saw."""
    from bioLM.synthetic import random_dna

    x, rng = random_dna(200, np.random.default_rng(10)), np.random.default_rng(11)
    sequence = (random_dna(400, rng) + x + random_dna(200, rng) + x[::-1].translate(str.maketrans("ACGT", "TGCA"))
                + random_dna(200, rng))  # lane 2 copies lane 1 backwards from step ~110, reaching column 0 at ~200
    grid = lane_grid(coding_model.symbols(sequence), lanes=3, min_lane_tokens=10)
    ids, texts = coding_model.alphabet.ids, coding_model.alphabet.texts
    coded = encode_grid(coding_model.stepper(3), ids, grid, 64, match_order=12, texts=texts)
    decoded = decode_grid(coding_model.stepper(3), ids, lane_sizes(1200, 3, 10), coded, 64, match_order=12,
                          texts=texts)
    assert (decoded == grid).all()
