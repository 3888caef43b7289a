"""Probabilities to integer frequencies, computed identically by the encoder and the decoder.

Recipe (both sides run exactly this code on exactly the same logits):

1. take the logits of the coding alphabet (the tokens that spell only A, C, G, T) as fp32 on the CPU;
2. ``p = softmax(logits)`` in fp32 (torch);
3. ``freq = floor(float64(p) * (TOTAL - V)) + 1``: every symbol keeps a frequency >= 1 (so any symbol can
   still be coded), the sum is <= TOTAL, and the coder uses the exact integer sum as its total.

Portability: the integer tables depend on the fp32 logits bit for bit. The same machine, the same torch
build and the same number of threads (recorded in the container) give identical logits, so a file always
decodes where it was made. Across hardware (another CPU's SIMD path, a GPU, another BLAS or torch version)
the logits can differ in the last bits, a frequency can change, and decoding then fails the content
checksum (it is detected, never silently wrong). Compress and decompress on the same setup.
"""

from __future__ import annotations

import numpy as np
import torch

DEFAULT_TOTAL_BITS = 24
"""``TOTAL = 2**24``: rounding costs at most about ``V / TOTAL / ln 2`` bits per symbol (1e-6 for DNA)."""


def quantize_logits(logits: torch.Tensor, total_bits: int = DEFAULT_TOTAL_BITS) -> np.ndarray:
    """Integer frequencies from logits of shape ``(B, V)`` -> int64 array ``(B, V)``, each row >= 1,
    row sums <= ``2**total_bits``."""
    vocab = logits.shape[-1]
    scale = (1 << total_bits) - vocab
    if scale <= 0:
        raise ValueError(f"total_bits={total_bits} is too small for {vocab} symbols")
    probabilities = torch.softmax(logits.detach().to(device="cpu", dtype=torch.float32), dim=-1)
    frequencies = torch.floor(probabilities.to(torch.float64) * scale).to(torch.int64) + 1
    return frequencies.numpy()


def cumulative_table(frequencies: np.ndarray) -> np.ndarray:
    """Cumulative counts ``(B, V + 1)`` with a leading 0 column, from frequencies ``(B, V)``."""
    table = np.zeros((frequencies.shape[0], frequencies.shape[1] + 1), dtype=np.int64)
    np.cumsum(frequencies, axis=1, out=table[:, 1:])
    return table


def ideal_bits(frequencies: np.ndarray, symbols: np.ndarray) -> float:
    """Sum of ``-log2(freq[symbol] / row_total)``: what an ideal coder spends on the quantized tables."""
    if len(symbols) == 0:
        return 0.0
    rows = np.arange(len(symbols))
    chosen = frequencies[rows, symbols].astype(np.float64)
    return float(-np.sum(np.log2(chosen / frequencies.sum(axis=1))))

