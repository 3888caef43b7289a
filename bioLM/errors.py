"""bioLM's exception types: every error a user can cause is one of these, with a message that says what to fix.

They subclass standard exceptions (``ValueError``, ``KeyError``, ``FileNotFoundError``) so callers that
catch those keep working. The CLI catches :class:`BioLMError` and prints the message without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class BioLMError(Exception):
    """Base class of every error bioLM raises on purpose."""


class InputFormatError(BioLMError, ValueError):
    """A file that cannot be read as what it claims to be. Names the file, and the record and line when known."""

    def __init__(self, message: str, path: str | Path | None = None, record: str | None = None,
                 line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.record = record
        self.line = line
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class AlphabetError(InputFormatError):
    """A sequence holds a character outside the alphabet it is read with (0-based ``position`` when known)."""

    def __init__(self, message: str, path: str | Path | None = None, record: str | None = None,
                 line: int | None = None, position: int | None = None) -> None:
        super().__init__(message, path, record, line)
        self.position = position


class RegionError(BioLMError, ValueError):
    """A genomic region that is malformed or lies outside its contig."""


class ContigNotFoundError(RegionError, KeyError):
    """A contig name that the reference does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(BioLMError, ValueError):
    """A recipe or argument that is not valid (unknown key, bad value)."""


class ModelDirectoryError(BioLMError, FileNotFoundError):
    """A directory that does not hold a bioLM / Hugging Face model or tokenizer."""
