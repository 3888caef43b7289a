"""One way to write an output file so that a crash, a kill -9 or an error never leaves a half-written one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], None], fsync: bool = False) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path`` (same folder, so the rename is atomic on POSIX),
    then rename it to ``path``; on any error the temporary file is removed and ``path`` is left as it was.
    ``fsync``: flush the file to disk before the rename (checkpoints: the rename must not land before the
    bytes). Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.tmp{os.getpid()}{path.suffix}"
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
