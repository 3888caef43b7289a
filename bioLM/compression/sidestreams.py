"""Side streams: what the model does not code, stored run-length so records are restored exactly.

A record's sequence (as read with case kept) is split into three parts:

* ``core``: the A/C/G/T letters only, upper-case, in order: this is what the model codes;
* ``case``: soft-masked (lowercase) stretches, as alternating run lengths ``upper, lower, upper, ...``
  (starting with a possibly empty upper-case run) over the whole sequence;
* ``exceptions``: every run of one letter that is not A/C/G/T (``N`` runs, IUPAC codes, ``U``, ``-``),
  as ``(gap, length, letter)`` where ``gap`` is the distance from the end of the previous run (0-based
  coordinates in the full sequence).

Serialized as unsigned LEB128 varints (see :func:`write_varints`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CORE_LETTERS = b"ACGT"
_IS_CORE = np.zeros(256, dtype=bool)
_IS_CORE[list(CORE_LETTERS)] = True


def write_varints(values: list[int] | np.ndarray) -> bytes:
    """Unsigned LEB128 encoding of non-negative integers."""
    out = bytearray()
    for value in (values.tolist() if isinstance(values, np.ndarray) else values):
        if value < 0:
            raise ValueError(f"varint of a negative value {value}")
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def read_varint(data: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Decode one varint at ``offset``; return (value, next offset). Raises ValueError past the end."""
    value, shift = 0, 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def read_varints(data: bytes | memoryview, offset: int, count: int) -> tuple[list[int], int]:
    """Decode ``count`` varints starting at ``offset``; return (values, next offset)."""
    values = []
    for _ in range(count):
        value, offset = read_varint(data, offset)
        values.append(value)
    return values, offset


def _run_starts(array: np.ndarray) -> np.ndarray:
    """0-based start of every run of equal values in a 1-D array."""
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.flatnonzero(array[1:] != array[:-1]) + 1])


@dataclass
class SideStreams:
    """Case runs and non-ACGT runs of one record of ``length`` letters (see the module docstring)."""

    length: int
    case_runs: list[int] = field(default_factory=list)
    exceptions: list[tuple[int, int, int]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        flat = [value for run in self.exceptions for value in run]
        return (write_varints([len(self.case_runs)]) + write_varints(self.case_runs)
                + write_varints([len(self.exceptions)]) + write_varints(flat))

    @classmethod
    def from_bytes(cls, length: int, data: bytes | memoryview, offset: int) -> tuple[SideStreams, int]:
        """Parse what :meth:`to_bytes` wrote at ``offset``; return (streams, next offset)."""
        count, offset = read_varint(data, offset)
        case_runs, offset = read_varints(data, offset, count)
        count, offset = read_varint(data, offset)
        flat, offset = read_varints(data, offset, 3 * count)
        exceptions = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
        return cls(length, case_runs, exceptions), offset

    @property
    def core_length(self) -> int:
        """Number of A/C/G/T letters (the length of the coded core)."""
        return self.length - sum(run[1] for run in self.exceptions)


def split_record(sequence: str, soft_mask: np.ndarray | None = None) -> tuple[str, SideStreams]:
    """Split an upper-case ``sequence`` (with ``soft_mask``: bool per letter, True = lowercase in the file)
    into the ACGT core and its :class:`SideStreams`."""
    raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    streams = SideStreams(len(raw))
    if soft_mask is not None and len(soft_mask) and soft_mask.any():
        starts = _run_starts(soft_mask)
        lengths = np.diff(np.append(starts, len(soft_mask)))
        runs = lengths.tolist()
        if soft_mask[0]:
            runs = [0, *runs]
        streams.case_runs = runs
    core_mask = _IS_CORE[raw]
    if core_mask.all():
        return sequence, streams
    keyed = np.where(core_mask, 0, raw.astype(np.int16) + 1)  # one key for the core, one per other letter
    starts = _run_starts(keyed)
    ends = np.append(starts[1:], len(raw))
    previous_end = 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        if keyed[start]:
            streams.exceptions.append((start - previous_end, end - start, int(raw[start])))
            previous_end = end
    core = raw[core_mask].tobytes().decode("ascii")
    return core, streams


def join_record(core: str, streams: SideStreams) -> str:
    """Inverse of :func:`split_record`: the sequence with its original letters and case."""
    pieces, position, taken = [], 0, 0
    for gap, length, letter in streams.exceptions:
        pieces.append(core[taken:taken + gap])
        taken += gap
        pieces.append(chr(letter) * length)
        position += gap + length
    pieces.append(core[taken:])
    sequence = "".join(pieces)
    if len(sequence) != streams.length:
        raise ValueError(f"side streams give {len(sequence)} letters, expected {streams.length}")
    if not streams.case_runs:
        return sequence
    out, start = [], 0
    for index, run in enumerate(streams.case_runs):
        piece = sequence[start:start + run]
        out.append(piece.lower() if index % 2 else piece)
        start += run
    out.append(sequence[start:])
    return "".join(out)
