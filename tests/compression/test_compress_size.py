"""The coded size is the model's theoretical bits (within 1% plus a fixed header) on a 100 kb sequence."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.compression import CodecConfig, CodingModel, compress_fasta
from bioLM.compression.bits import file_bits
from bioLM.synthetic import markov_dna, write_fasta_records

# Many lanes keep the test short (one forward pass per 50 tokens); the contexts are the same in bits.py.
CONFIG = CodecConfig(lanes=50, min_lane_tokens=1024, match_order=0, precision="fp32")  # as bits.py
FIXED_HEADER_BYTES = 600


@pytest.mark.slow
def test_coded_size_matches_theoretical_bits_on_100kb(tmp_path, trained_model_dir):
    coding = CodingModel(trained_model_dir)
    sequence = markov_dna(100_000, np.random.default_rng(7), order=2)[-100_000:]
    source = write_fasta_records(tmp_path / "seq.fa", [("markov100k", sequence)])
    report = compress_fasta(trained_model_dir, source, tmp_path / "seq.blm", CONFIG, coding=coding)
    from bioLM.model.loading import load

    theory = file_bits(load(trained_model_dir, device="cpu", precision="fp32"), source, CONFIG)
    assert theory.bases == report.bases == 100_000
    assert theory.bits_per_base < 1.95  # the model learned something: below the 2-bit code
    payload_bits = 8 * (report.payload_bytes + report.fallback_bytes)
    assert payload_bits <= 1.01 * theory.bits
    assert 8 * report.file_bytes <= 1.01 * theory.bits + 8 * FIXED_HEADER_BYTES
    # the range coder is within a few bits per block of the ideal of what it coded; the model's bits equal
    # the teacher-forced ones (same contexts, static cache vs one forward pass per window)
    assert report.ideal_bits <= payload_bits + 64 <= report.ideal_bits * 1.001 + 128
    assert report.model_bits == pytest.approx(theory.bits, rel=1e-4)
    assert theory.model_bits >= theory.bits  # the full softmax also spends mass on special tokens
