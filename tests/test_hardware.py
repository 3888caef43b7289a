"""`auto` precision follows the hardware: bf16 only where the CPU (AMX / AVX512-BF16) or GPU runs it natively."""

from __future__ import annotations

import pytest
import torch

from bioLM import hardware
from bioLM.errors import ConfigError


@pytest.fixture
def flags(monkeypatch):
    def set_flags(*names: str) -> None:
        monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(names))
    return set_flags


def test_avx2_only_cpu_trains_in_fp32(flags):
    flags("avx2", "fma", "sse4_2")
    assert not hardware.fast_bf16("cpu")
    assert hardware.resolve_precision("auto", "cpu") == "32-true"
    assert hardware.autocast_dtype("auto", "cpu") is None


@pytest.mark.parametrize("flag", ["amx_bf16", "avx512_bf16"])
def test_native_bf16_cpu_trains_in_bf16(flags, flag):
    flags("avx2", flag)
    assert hardware.fast_bf16("cpu")
    assert hardware.resolve_precision("auto", "cpu") == "bf16-mixed"
    assert hardware.autocast_dtype("auto", "cpu") is torch.bfloat16


def test_explicit_settings_win(flags):
    flags("avx2")
    assert hardware.resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
    assert hardware.autocast_dtype("bf16", "cpu") is torch.bfloat16
    assert hardware.autocast_dtype("fp32", "cpu") is None
    with pytest.raises(ConfigError, match="choose 'auto'"):
        hardware.autocast_dtype("half", "cpu")


def test_this_machine_flags_are_read():
    hardware._cpuinfo.cache_clear()
    assert isinstance(hardware.cpu_flags(), frozenset)
    assert hardware.cpu_model() is None or hardware.cpu_model().strip() == hardware.cpu_model() != ""


def test_cpuinfo_fields_are_read_by_name(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC\n")
    monkeypatch.setattr(hardware, "CPUINFO", cpuinfo)
    hardware._cpuinfo.cache_clear()
    try:
        assert hardware.cpu_model() == "AMD EPYC"
        assert hardware.cpu_flags() == frozenset({"fpu", "avx2", "avx512_bf16"})
        assert hardware.fast_bf16("cpu")
    finally:
        hardware._cpuinfo.cache_clear()
