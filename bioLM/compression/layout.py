"""The byte layout of a FASTA file, split from its letters so the file is restored byte for byte.

A file is cut into lines at ``\\n``; a line ending in ``\\r`` has that ``\\r`` recorded (CRLF). What is
kept, beside the letters:

* ``preamble``: the bytes before the first ``>`` line (blank lines only; anything else is refused);
* ``headers``: every header line after its ``>``, verbatim bytes;
* ``line_runs``: per record, the lengths of its sequence lines (blank lines are length 0) as
  ``(length, repeat)`` runs, so a record wrapped at 60 columns costs two runs;
* ``cr_runs``: which lines (headers and sequence lines, in file order) end in ``\\r``, as alternating run
  lengths starting with a run without ``\\r``;
* ``final_newline``: whether the last line ends with ``\\n``.

The letters of all sequence lines are concatenated in file order (``letters``). Binary bytes (NUL and other
control bytes except tab, LF, VT, FF, CR) anywhere are refused with the line number, before anything is
written. Gzip input (plain or bgzip) is decompressed first: the container restores the uncompressed bytes.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioLM.compression.sidestreams import read_varint, read_varints, write_varints
from bioLM.errors import InputFormatError

_BINARY = np.zeros(256, dtype=bool)
_BINARY[list(range(0, 9)) + list(range(14, 32)) + [127]] = True
_BLANK = frozenset(b" \t\r\n\x0b\x0c")


@dataclass
class Layout:
    """Everything of a FASTA file except its sequence letters (see the module docstring)."""

    preamble: bytes = b""
    headers: list[bytes] = field(default_factory=list)
    line_runs: list[list[tuple[int, int]]] = field(default_factory=list)
    cr_runs: list[int] = field(default_factory=list)
    final_newline: bool = True

    def record_letters(self) -> list[int]:
        """Number of letters of each record."""
        return [sum(length * repeat for length, repeat in runs) for runs in self.line_runs]

    def to_bytes(self) -> bytes:
        values = [len(self.preamble), len(self.headers), int(self.final_newline), len(self.cr_runs),
                  *self.cr_runs]
        for header, runs in zip(self.headers, self.line_runs):
            values += [len(header), len(runs), *(v for run in runs for v in run)]
        return write_varints(values) + self.preamble + b"".join(self.headers)

    @classmethod
    def from_bytes(cls, data: bytes) -> Layout:
        (n_preamble, n_records, final, n_cr), offset = read_varints(data, 0, 4)
        cr_runs, offset = read_varints(data, offset, n_cr)
        sizes, line_runs = [], []
        for _ in range(n_records):
            size, offset = read_varint(data, offset)
            count, offset = read_varint(data, offset)
            flat, offset = read_varints(data, offset, 2 * count)
            sizes.append(size)
            line_runs.append(list(zip(flat[0::2], flat[1::2])))
        preamble = data[offset:offset + n_preamble]
        offset += n_preamble
        headers = []
        for size in sizes:
            headers.append(data[offset:offset + size])
            offset += size
        if offset != len(data):
            raise ValueError(f"layout has {len(data) - offset} trailing bytes")
        return cls(preamble, headers, line_runs, cr_runs, bool(final))


def read_raw(path: str | Path) -> tuple[bytes, bool]:
    """The bytes of ``path``, decompressed when it is gzip (or bgzip); returns (bytes, was_gzip)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFormatError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputFormatError("is a directory, not a FASTA file", path=path) from None
    if raw[:2] != b"\x1f\x8b":
        return raw, False
    try:
        return gzip.decompress(raw), True
    except (OSError, EOFError, zlib.error) as error:
        raise InputFormatError(f"corrupt or truncated gzip data ({error}); re-download or re-compress the "
                               "file", path=path) from None


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """``(value, repeat)`` runs of a 1-D integer array."""
    if len(values) == 0:
        return []
    starts = np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1])
    repeats = np.diff(np.append(starts, len(values)))
    return list(zip(values[starts].tolist(), repeats.tolist()))


def _alternating_runs(flags: np.ndarray) -> list[int]:
    """Alternating run lengths of a bool array, starting with a (maybe empty) False run."""
    runs = [repeat for _, repeat in _runs(flags.astype(np.int8))]
    return [0, *runs] if len(flags) and flags[0] else runs


def check_text(raw: bytes, path: str | Path | None) -> None:
    """Refuse binary bytes (see the module docstring), naming the first line that holds one."""
    data = np.frombuffer(raw, dtype=np.uint8)
    bad = np.flatnonzero(_BINARY[data])
    if len(bad):
        position = int(bad[0])
        line = raw.count(b"\n", 0, position) + 1
        raise InputFormatError(f"binary data (byte 0x{raw[position]:02x} at offset {position}), not FASTA "
                               "text; nothing was written", path=path, line=line)


def split_file(raw: bytes, path: str | Path | None = None) -> tuple[Layout, np.ndarray]:
    """Split the (uncompressed) bytes of a FASTA file into its :class:`Layout` and letters (uint8 array)."""
    if not raw:
        raise InputFormatError("file is empty; expected FASTA ('>' header)", path=path)
    check_text(raw, path)
    data = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    final_newline = raw.endswith(b"\n")
    starts = np.concatenate([[0], newlines + 1])
    ends = np.append(newlines, len(raw))
    if final_newline:
        starts, ends = starts[:-1], ends[:-1]
    is_header = data[np.minimum(starts, len(raw) - 1)] == ord(">")
    is_header &= starts < ends
    header_lines = np.flatnonzero(is_header)
    first = _first_header(raw, starts, header_lines, path)
    starts, ends = starts[first:], ends[first:]
    is_header = is_header[first:]
    cr = (ends > starts) & (data[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    lengths = ends - starts
    seq_lines = ~is_header
    line_runs = [[] for _ in range(int(is_header.sum()))]
    record_bounds = np.flatnonzero(is_header)
    for index, (lo, hi) in enumerate(zip(record_bounds, np.append(record_bounds[1:], len(starts)))):
        line_runs[index] = _runs(lengths[lo + 1:hi])
    headers = [raw[s + 1:e] for s, e in zip(starts[is_header].tolist(), ends[is_header].tolist())]
    letters = _gather(data, starts[seq_lines], ends[seq_lines])
    layout = Layout(raw[:int(_line_start(raw, newlines, first))], headers, line_runs, _alternating_runs(cr),
                    final_newline)
    return layout, letters


def _line_start(raw: bytes, newlines: np.ndarray, line: int) -> int:
    return 0 if line == 0 else int(newlines[line - 1]) + 1


def _first_header(raw: bytes, starts: np.ndarray, header_lines: np.ndarray, path) -> int:
    """Index of the first header line; only blank lines may come before it."""
    if raw.lstrip()[:1] == b"@":
        raise InputFormatError("is FASTQ; `biolm compress` codes FASTA only (qualities would be lost): "
                               "convert it to FASTA first", path=path)
    first = int(header_lines[0]) if len(header_lines) else len(starts)
    before = raw[:int(starts[first])] if first < len(starts) else raw
    if first == len(starts) or not set(before) <= _BLANK:
        shown = raw.lstrip().split(b"\n", 1)[0][:40].decode("utf-8", "replace")
        line = raw.count(b"\n", 0, len(raw) - len(raw.lstrip())) + 1
        raise InputFormatError(f"expected a FASTA header ('>'), found {shown!r}", path=path, line=line)
    return first


def _gather(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenate ``data[starts[i]:ends[i]]`` for every i (vectorized)."""
    keep = np.zeros(len(data) + 1, dtype=np.int32)
    np.add.at(keep, starts, 1)
    np.add.at(keep, ends, -1)
    return data[np.cumsum(keep[:-1]) > 0]


def join_file(layout: Layout, letters: bytes) -> bytes:
    """Inverse of :func:`split_file`: the original bytes from the layout and the letters."""
    cr_flags = np.zeros(sum(layout.cr_runs), dtype=bool)
    position = 0
    for index, run in enumerate(layout.cr_runs):
        if index % 2:
            cr_flags[position:position + run] = True
        position += run
    pieces, line, taken = [layout.preamble], 0, 0

    def eol() -> bytes:
        nonlocal line
        end = b"\r\n" if line < len(cr_flags) and cr_flags[line] else b"\n"
        line += 1
        return end

    for header, runs in zip(layout.headers, layout.line_runs):
        pieces += [b">", header, eol()]
        for length, repeat in runs:
            for _ in range(repeat):
                pieces += [letters[taken:taken + length], eol()]
                taken += length
    if taken != len(letters):
        raise ValueError(f"layout spells {taken} letters, {len(letters)} were decoded")
    out = b"".join(pieces)
    if not layout.final_newline:
        out = out[:-1]
    return out
