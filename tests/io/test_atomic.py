"""atomic_write: the target is replaced whole or left as it was; no temporary file survives."""

from __future__ import annotations

import pytest

from bioLM.io.atomic import atomic_write


@pytest.mark.parametrize("fsync", [False, True])
def test_atomic_write_replaces_whole_file(tmp_path, fsync):
    target = tmp_path / "sub" / "out.json"
    assert atomic_write(target, lambda tmp: tmp.write_text("new"), fsync=fsync) == target
    assert target.read_text() == "new" and [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.tsv"]
