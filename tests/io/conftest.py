"""Shared helpers of the I/O tests."""

from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path):
    """write(name, content: str | bytes) -> Path of a file under tmp_path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return path

    return _write
