"""The integer arithmetic coder, quantization and side streams, with a simple order-2 count model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bioLM.compression.coder import MAX_TOTAL, ArithmeticDecoder, ArithmeticEncoder, encode_symbols
from bioLM.compression.quantize import cumulative_table, ideal_bits, quantize_logits
from bioLM.compression.sidestreams import (
    SideStreams,
    join_record,
    read_varints,
    split_record,
    write_varints,
)
from bioLM.synthetic import markov_dna, random_dna


def order2_tables(symbols: np.ndarray, alphabet: int = 4) -> np.ndarray:
    """Adaptive order-2 count model: cumulative tables (n, V + 1) computed from the past only."""
    counts = np.ones((alphabet * alphabet, alphabet), dtype=np.int64)
    tables = np.zeros((len(symbols), alphabet + 1), dtype=np.int64)
    context = 0
    for i, symbol in enumerate(symbols.tolist()):
        tables[i, 1:] = np.cumsum(counts[context])
        counts[context, symbol] += 32
        context = (context * alphabet + symbol) % (alphabet * alphabet)
    return tables


def decode_all(data: bytes, tables: np.ndarray) -> np.ndarray:
    decoder = ArithmeticDecoder(data)
    return np.array([decoder.decode(table) for table in tables], dtype=np.int64)


def ideal(tables: np.ndarray, symbols: np.ndarray) -> float:
    rows = np.arange(len(symbols))
    widths = tables[rows, symbols + 1] - tables[rows, symbols]
    return float(-np.log2(widths / tables[:, -1]).sum())


@pytest.mark.parametrize("kind", ["random", "markov", "constant", "empty", "single"])
def test_round_trip_and_size_order2(kind):
    rng = np.random.default_rng(3)
    text = {"random": random_dna(5000, rng), "markov": markov_dna(5000, rng, order=2),
            "constant": "A" * 5000, "empty": "", "single": "G"}[kind]
    symbols = np.frombuffer(text.encode(), dtype=np.uint8)
    symbols = np.searchsorted(np.frombuffer(b"ACGT", dtype=np.uint8), symbols).astype(np.int64)
    tables = order2_tables(symbols)
    data = encode_symbols(symbols, tables)
    np.testing.assert_array_equal(decode_all(data, tables), symbols)
    # cost = ideal code length + at most 2 flush bits + byte padding
    assert 8 * len(data) <= ideal(tables, symbols) + 2 + 8
    assert 8 * len(data) >= ideal(tables, symbols) - 1e-6


def test_skewed_and_tiny_probabilities_round_trip():
    rng = np.random.default_rng(0)
    n, vocab = 3000, 7
    frequencies = rng.integers(1, 4, size=(n, vocab))
    frequencies[:, 0] = MAX_TOTAL - frequencies[:, 1:].sum(axis=1)  # one symbol takes almost everything
    tables = cumulative_table(frequencies)
    symbols = np.where(rng.random(n) < 0.5, 0, rng.integers(0, vocab, size=n))
    data = encode_symbols(symbols, tables)
    np.testing.assert_array_equal(decode_all(data, tables), symbols)


def test_encoder_rejects_bad_interval():
    encoder = ArithmeticEncoder()
    with pytest.raises(ValueError, match="bad interval"):
        encoder.encode(3, 3, 10)
    with pytest.raises(ValueError, match="max total"):
        encoder.encode(0, 1, MAX_TOTAL + 1)


def test_quantize_rows_positive_and_bounded():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [50.0, -50.0, 0.0, 1.0], [-1e4, 2.0, 3.0, 4.0]])
    frequencies = quantize_logits(logits, total_bits=16)
    assert frequencies.dtype == np.int64
    assert (frequencies >= 1).all()
    assert (frequencies.sum(axis=1) <= 1 << 16).all()
    assert frequencies[0].tolist() == [(65536 - 4) // 4 + 1] * 4
    # quantized cost is close to the true cost
    p = torch.softmax(logits[2], -1).double().numpy()
    assert ideal_bits(frequencies[2:3], np.array([3])) == pytest.approx(-math.log2(p[3]), rel=1e-3)
    assert ideal_bits(frequencies[1:2], np.array([3])) == pytest.approx(16.0, abs=0.01)  # floor of 1


def test_quantize_is_deterministic():
    logits = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(quantize_logits(logits), quantize_logits(logits.clone()))


def test_varints_round_trip():
    values = [0, 1, 127, 128, 300, 2**32, 2**63 + 5]
    data = write_varints(values)
    assert read_varints(data, 0, len(values)) == (values, len(data))
    with pytest.raises(ValueError, match="negative"):
        write_varints([-1])


@pytest.mark.parametrize("sequence", [
    "", "ACGT", "acgtNNNNnnnnACGTRYKM", "NNNN", "nnnn", "ACGU-ACGT", "aCgTtTnNRyyy---ACG", "A" * 100 + "n",
])
def test_split_join_round_trip(sequence):
    mask = np.frombuffer(sequence.encode(), dtype=np.uint8) >= ord("a")
    core, streams = split_record(sequence.upper(), mask)
    assert set(core) <= set("ACGT")
    again, _ = SideStreams.from_bytes(streams.length, streams.to_bytes(), 0)
    assert again == streams
    assert again.core_length == len(core)
    assert join_record(core, again) == sequence


def test_side_stream_runs_are_run_length():
    core, streams = split_record("ACNNNNNNNNNNGTRRA", np.zeros(17, dtype=bool))
    assert core == "ACGTA"
    assert streams.exceptions == [(2, 10, ord("N")), (2, 2, ord("R"))]
    assert streams.case_runs == []
    _, masked = split_record("ACGT", np.array([True, True, False, True]))
    assert masked.case_runs == [0, 2, 1, 1]
