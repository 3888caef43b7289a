"""Which number format is fast on this machine: bf16 where the hardware has bf16 matrix units, else fp32.

bf16 autocast is ~10x faster than fp32 on CPUs with AMX (Intel Sapphire Rapids and later) or AVX512-BF16,
and on CUDA GPUs from Ampere on; on other CPUs (AVX2 only, e.g. many AMD EPYC) PyTorch emulates bf16 matmuls
and they run ~15x *slower* than fp32. ``"auto"`` precision settings resolve through :func:`fast_bf16`, which
reads the CPU flags (Linux ``/proc/cpuinfo``) rather than timing anything, so the choice is deterministic.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

from bioLM.errors import ConfigError

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def _cpuinfo(field: str) -> str:
    """The first ``field : value`` of Linux ``/proc/cpuinfo`` (empty where it is not readable or has no such field)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == field:
            return value.strip()
    return ""


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (empty where ``/proc/cpuinfo`` is not readable)."""
    return frozenset(_cpuinfo("flags").split())


def cpu_model() -> str | None:
    """The CPU's model name, e.g. ``"AMD EPYC"`` (None where ``/proc/cpuinfo`` does not say): benchmarks record it."""
    return _cpuinfo("model name") or None


def fast_bf16(device: str | torch.device = "cpu") -> bool:
    """True when bf16 matmuls on ``device`` run on native hardware (CPU: AMX or AVX512-BF16; CUDA: bf16 support)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return any(flag in cpu_flags() for flag in CPU_BF16_FLAGS)
    return False


def accelerator_device(accelerator: str) -> str:
    """The torch device type a Lightning ``accelerator`` setting runs on (``auto``: cuda when available)."""
    if accelerator in ("gpu", "cuda"):
        return "cuda"
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return accelerator


_LIGHTNING = {"bf16": "bf16-mixed", "fp32": "32-true"}


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """A Lightning precision: ``"auto"`` becomes ``"bf16-mixed"`` on fast-bf16 hardware, else ``"32-true"``;
    the command vocabulary's ``"bf16"`` / ``"fp32"`` map to ``"bf16-mixed"`` / ``"32-true"``; Lightning's own
    names pass through."""
    if precision == "auto":
        return "bf16-mixed" if fast_bf16(accelerator_device(accelerator)) else "32-true"
    return _LIGHTNING.get(precision, precision)


def autocast_dtype(precision: str, device: str | torch.device) -> torch.dtype | None:
    """bf16 for ``"bf16"``, None (no autocast) for ``"fp32"``, and for ``"auto"`` bf16 where it is fast."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"precision={precision!r} is not valid; choose 'auto', 'bf16' or 'fp32'")
    if precision == "bf16" or (precision == "auto" and fast_bf16(device)):
        return torch.bfloat16
    return None


PRECISIONS = ("auto", "bf16", "fp32")
"""The precision vocabulary of every command that runs a model (``--precision``)."""


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` (or None): CUDA when available, else CPU; ``cpu``, ``cuda`` and ``cuda:N`` as given (checked)."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={device!r} is not valid; choose auto, cpu, cuda or cuda:N") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={device!r} is not supported; choose auto, cpu, cuda or cuda:N")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={device!r}: no CUDA GPU is available here; use --device cpu (or auto)")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def autocast(device: str | torch.device, precision: str = "auto"):
    """The one autocast context of inference: bf16 autocast when :func:`autocast_dtype` says so, else off."""
    device = torch.device(device)
    dtype = autocast_dtype(precision, device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype is not None)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block (small work where threads only add overhead and
    nondeterminism: the summarization heads, the compressor's streams), then restore the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
