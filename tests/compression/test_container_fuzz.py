"""The container reader under random bytes and random mutations of a real container: a documented error
(:class:`~bioLM.errors.BioLMError`, exit code 2 in the CLI) or the original bytes, never a crash or a silent
change (the container's content sha256 is checked before the output is moved into place)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioLM.compression import compress_fasta, decompress
from bioLM.compression.codec import CodecConfig
from bioLM.errors import BioLMError

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def original(tmp_path_factory, tiny_model_dir, coding_model):
    """(FASTA bytes, container bytes) of a small two-record file with lowercase, N and irregular lines."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), 300))
    text = f">a desc\n{seq[:70]}\n{seq[70:200].lower()}\nNNNN{seq[200:260]}\n>b\n{seq[260:]}\n"
    source = folder / "in.fa"
    source.write_text(text)
    compress_fasta(tiny_model_dir, source, folder / "in.blm", CodecConfig(lanes=2, min_lane_tokens=32),
                   coding=coding_model)
    return text.encode(), (folder / "in.blm").read_bytes()


def _restore(tmp_path, data: bytes, tiny_model_dir, coding_model) -> bytes | None:
    """Decompress ``data``; None when it is refused with a bioLM error (and then nothing is written)."""
    blm, out = tmp_path / "x.blm", tmp_path / "x.fa"
    blm.write_bytes(data)
    out.unlink(missing_ok=True)
    try:
        decompress(tiny_model_dir, blm, out, coding=coding_model)
    except BioLMError:
        assert not out.exists() and not list(tmp_path.glob("x.fa*"))  # no output, no partial file
        return None
    return out.read_bytes()


@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused(tmp_path, data, tiny_model_dir, coding_model):
    assert _restore(tmp_path, data, tiny_model_dir, coding_model) is None


@SETTINGS
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=3),
       cut=st.booleans())
def test_mutated_container_is_refused_or_exact(tmp_path, original, edits, cut, tiny_model_dir, coding_model):
    fasta, container = original
    data = bytearray(container)
    for where, byte in edits:
        data[int(where * len(data))] = byte
    if cut:
        data = data[: int(edits[0][0] * len(data))]
    restored = _restore(tmp_path, bytes(data), tiny_model_dir, coding_model)
    assert restored is None or restored == fasta
