"""Content hashes of files and folders: one definition of "the same input" for caches, resumes and models."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file's bytes, read in chunks (flat memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(root: str | Path, files: Iterable[Path]) -> str:
    """sha256 over ``files`` (inside ``root``, in the order given) as ``relative name NUL sha256 NUL`` each, so
    renaming or changing any of them changes it."""
    root, digest = Path(root), hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(root)}\0{file_sha256(file)}\0".encode())
    return digest.hexdigest()


def content_fingerprint(path: str | Path) -> list:
    """``[resolved path, size, sha256]`` of a file; of a directory (a model), the same over all its files
    (relative names and contents), so that replacing the weights in place changes it."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return [str(path.resolve()), sum(f.stat().st_size for f in files), tree_sha256(path, files)]
    if path.is_file():
        return [str(path.resolve()), path.stat().st_size, file_sha256(path)]
    return [str(path), None, None]
