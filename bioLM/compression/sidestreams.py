"""Side streams: what the model does not code, stored run-length so records are restored exactly.

A letter stream (any bytes; case kept) is split into three parts:

* ``core``: the A/C/G/T letters only, upper-case, in order: this is what the model codes;
* ``case``: soft-masked (lowercase) stretches, as alternating run lengths ``upper, lower, upper, ...``
  (starting with a possibly empty upper-case run) over the whole sequence;
* ``exceptions``: every run of one letter that is not A/C/G/T (``N`` runs, IUPAC codes, ``U``, ``-``),
  as ``(gap, length, letter)`` where ``gap`` is the distance from the end of the previous run (0-based
  coordinates in the full sequence).

Serialized as unsigned LEB128 varints (see :func:`write_varints`).
"""

from __future__ import annotations

from dataclasses import dataclass

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


_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_IS_LOWER = np.zeros(256, dtype=bool)
_IS_LOWER[ord("a"):ord("z") + 1] = True
_IS_UPPER_LETTER = np.zeros(256, dtype=bool)
_IS_UPPER_LETTER[ord("A"):ord("Z") + 1] = True


@dataclass
class LetterStreams:
    """Case runs and non-ACGT runs of a whole letter stream (any bytes; see the module docstring)."""

    length: int
    case_runs: np.ndarray
    gaps: np.ndarray
    lengths: np.ndarray
    letters: np.ndarray

    def to_bytes(self) -> bytes:
        values = np.concatenate([[self.length, len(self.case_runs), len(self.gaps)], self.case_runs,
                                 np.stack([self.gaps, self.lengths, self.letters], 1).ravel()])
        return write_varints(values.astype(np.int64))

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, offset: int = 0) -> tuple[LetterStreams, int]:
        (length, n_case, n_exc), offset = read_varints(data, offset, 3)
        case_runs, offset = read_varints(data, offset, n_case)
        flat, offset = read_varints(data, offset, 3 * n_exc)
        flat = np.asarray(flat, dtype=np.int64).reshape(-1, 3)
        return cls(length, np.asarray(case_runs, dtype=np.int64), flat[:, 0], flat[:, 1], flat[:, 2]), offset


def split_letters(letters: np.ndarray) -> tuple[np.ndarray, LetterStreams]:
    """Split letters (uint8, any bytes) into the upper-case A/C/G/T core (uint8) and :class:`LetterStreams`
    (case runs over ``a-z``; runs of every other letter, upper-cased)."""
    lower = _IS_LOWER[letters]
    case_runs = np.zeros(0, dtype=np.int64)
    if lower.any():
        starts = _run_starts(lower)
        case_runs = np.diff(np.append(starts, len(lower)))
        if lower[0]:
            case_runs = np.concatenate([[0], case_runs])
    upper = _UPPER[letters]
    core_mask = _IS_CORE[upper]
    keyed = np.where(core_mask, 0, upper.astype(np.int16) + 1)
    starts = _run_starts(keyed)
    ends = np.append(starts[1:], len(upper))
    chosen = keyed[starts] != 0 if len(starts) else np.zeros(0, dtype=bool)
    starts, ends = starts[chosen], ends[chosen]
    previous_ends = np.concatenate([[0], ends[:-1]])
    streams = LetterStreams(len(letters), case_runs, starts - previous_ends, ends - starts,
                            upper[starts].astype(np.int64))
    return upper[core_mask], streams


def join_letters(core: np.ndarray, streams: LetterStreams) -> np.ndarray:
    """Inverse of :func:`split_letters`: the letters (uint8) with their original case and non-ACGT runs."""
    out = np.empty(streams.length, dtype=np.uint8)
    is_core = np.ones(streams.length, dtype=bool)
    starts = np.cumsum(streams.gaps + np.concatenate([[0], streams.lengths[:-1]])).astype(np.int64)
    if len(starts):
        delta = np.zeros(streams.length + 1, dtype=np.int64)
        np.add.at(delta, starts, 1)
        np.add.at(delta, starts + streams.lengths, -1)
        is_core = np.cumsum(delta[:-1]) == 0
        run_of = np.repeat(np.arange(len(starts)), streams.lengths)
        out[~is_core] = streams.letters[run_of].astype(np.uint8)
    if int(is_core.sum()) != len(core):
        raise ValueError(f"side streams leave {int(is_core.sum())} core letters, {len(core)} were decoded")
    out[is_core] = core
    if len(streams.case_runs):
        bounds = np.cumsum(streams.case_runs)
        flag = np.zeros(streams.length + 1, dtype=np.int64)
        np.add.at(flag, bounds[:-1] if len(bounds) else bounds, 1)
        lower = (np.cumsum(flag[:-1]) % 2) == 1
        out[lower] += 32
    return out


def split_record(sequence: str, soft_mask: np.ndarray | None = None) -> tuple[str, LetterStreams]:
    """The A/C/G/T core (str) and :class:`LetterStreams` of one record's ``sequence`` (``soft_mask``: bool per
    letter, True = lowercase in the file)."""
    letters = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    if soft_mask is not None and len(soft_mask) and soft_mask.any():
        letters = np.where(soft_mask & _IS_UPPER_LETTER[letters], letters + 32, letters).astype(np.uint8)
    core, streams = split_letters(letters)
    return core.tobytes().decode("ascii"), streams
