"""FLOP counting and a measured matmul peak, for tokens/s -> MFU (model FLOPs utilization).

Formula (PaLM appendix B; nanoGPT's ``estimate_mfu``), training FLOPs per token at sequence length T:

    flops_per_token = 6 * N + 12 * L * C * T

- ``N`` = parameters that take part in a matmul: per block the QKV and output projections (4 C^2) and the
  MLP (3 C I for SwiGLU, 2 C I for GELU), plus the output head (V C, counted whether or not it is tied to
  the embedding). The embedding lookup, norms and biases are not matmuls and are left out.
  A matmul costs 2 FLOPs per weight per token forward and 4 backward: hence 6 N.
- ``12 L C T``: attention scores ``QK^T`` and ``AV`` cost 2 * 2 * T * C per token per layer forward, times 3
  for forward + backward. Following PaLM, the full T is counted even though a causal kernel skips the
  masked half, so MFU is comparable with published figures.

MFU = tokens/s * flops_per_token / peak FLOP/s, with the peak measured by :func:`measure_matmul_peak`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from bioLM.model.config import BioLMConfig


def matmul_params(config: BioLMConfig) -> int:
    """Number of weights used in matmuls per token (N above)."""
    c, i = config.n_embd, config.intermediate_size
    mlp = (3 if config.mlp == "swiglu" else 2) * c * i
    return config.n_layer * (4 * c * c + mlp) + config.vocab_size * c


def flops_per_token(config: BioLMConfig, seq_len: int | None = None) -> float:
    """Training (forward + backward) FLOPs per token: 6 N + 12 L C T, T = seq_len (default block_size)."""
    t = config.block_size if seq_len is None else seq_len
    return 6.0 * matmul_params(config) + 12.0 * config.n_layer * config.n_embd * t


def measure_matmul_peak(dtype: torch.dtype = torch.bfloat16, device: str | torch.device = "cpu",
                        size: int = 2048, repeats: int = 10,
                        timer: Callable[[], float] = time.perf_counter) -> float:
    """Best FLOP/s of a (size x size) @ (size x size) matmul in ``dtype`` on ``device`` (quick: ~1 s on CPU).

    This is the practical peak that MFU is measured against (not the datasheet number). It uses the current
    ``torch.get_num_threads()``: measure it with the thread count of the run it is compared with. ``timer``
    is the clock (wall by default; a process-CPU-time clock divided by the thread count is fairer on a
    machine shared with other processes).
    """
    device = torch.device(device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(2):  # warm-up (kernel selection, AMX tile configuration)
        torch.matmul(a, b, out=out)
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = timer()
        torch.matmul(a, b, out=out)
        sync()
        best = min(best, max(timer() - start, 1e-9))
    return 2.0 * size**3 / best
