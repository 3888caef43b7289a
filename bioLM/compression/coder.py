"""Integer arithmetic coder (Witten, Neal and Cleary 1987) with 32-bit registers and underflow handling.

Each symbol is coded from an integer cumulative-frequency interval ``[low, high)`` out of ``total``
(``0 <= low < high <= total <= MAX_TOTAL``). Only integer arithmetic is used, so the encoder and the
decoder agree bit for bit as long as they are given the same frequency tables. The stream ends with
enough bits to identify the final interval; the decoder reads zeros past the end of its input.

The cost of a message is the sum of ``-log2((high - low) / total)`` plus at most 2 bits of flush (and up
to 7 bits of padding to the byte).
"""

from __future__ import annotations

import numpy as np

PRECISION = 32
FULL = (1 << PRECISION) - 1
HALF = 1 << (PRECISION - 1)
QUARTER = 1 << (PRECISION - 2)
THREE_QUARTERS = 3 * QUARTER
MAX_TOTAL = 1 << (PRECISION - 2)
"""Largest frequency total the coder accepts: every interval keeps a width of at least one unit."""


class ArithmeticEncoder:
    """Encode symbols, given as cumulative-frequency intervals, into bytes (``finish()`` returns them)."""

    def __init__(self) -> None:
        self.low = 0
        self.high = FULL
        self.pending = 0
        self._bits: list[int] = []
        self._out = bytearray()

    def _emit(self, bit: int) -> None:
        bits = self._bits
        bits.append(bit)
        bits.extend([bit ^ 1] * self.pending)
        self.pending = 0
        if len(bits) >= 4096:
            self._flush_bytes()

    def _flush_bytes(self) -> None:
        n = len(self._bits) // 8 * 8
        if n:
            self._out += np.packbits(np.array(self._bits[:n], dtype=np.uint8)).tobytes()
            del self._bits[:n]

    def encode(self, low: int, high: int, total: int) -> None:
        """Narrow the interval to the symbol ``[low, high)`` of ``total``."""
        if not 0 <= low < high <= total <= MAX_TOTAL:
            raise ValueError(f"bad interval [{low}, {high}) of total {total} (max total {MAX_TOTAL})")
        span = self.high - self.low + 1
        self.high = self.low + span * high // total - 1
        self.low = self.low + span * low // total
        while True:
            if self.high < HALF:
                self._emit(0)
            elif self.low >= HALF:
                self._emit(1)
                self.low -= HALF
                self.high -= HALF
            elif self.low >= QUARTER and self.high < THREE_QUARTERS:
                self.pending += 1
                self.low -= QUARTER
                self.high -= QUARTER
            else:
                break
            self.low <<= 1
            self.high = (self.high << 1) | 1

    def finish(self) -> bytes:
        """Flush the final interval and return the whole coded message (padded to a byte with zeros)."""
        self.pending += 1
        self._emit(0 if self.low < QUARTER else 1)
        self._bits.extend([0] * (-len(self._bits) % 8))
        self._flush_bytes()
        return bytes(self._out)


class ArithmeticDecoder:
    """Decode the symbols written by :class:`ArithmeticEncoder` from ``data``."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._size = 8 * len(self._data)
        self._position = 0
        self.low = 0
        self.high = FULL
        self.value = 0
        for _ in range(PRECISION):
            self.value = (self.value << 1) | self._next_bit()

    def _next_bit(self) -> int:
        position = self._position
        self._position += 1
        if position >= self._size:
            return 0
        return (self._data[position >> 3] >> (7 - (position & 7))) & 1

    def target(self, total: int) -> int:
        """The cumulative count in ``[0, total)`` that identifies the next symbol (search it in the table)."""
        span = self.high - self.low + 1
        return ((self.value - self.low + 1) * total - 1) // span

    def consume(self, low: int, high: int, total: int) -> None:
        """Remove the decoded symbol ``[low, high)`` of ``total`` from the stream (mirror of ``encode``)."""
        span = self.high - self.low + 1
        self.high = self.low + span * high // total - 1
        self.low = self.low + span * low // total
        while True:
            if self.high < HALF:
                pass
            elif self.low >= HALF:
                self.low -= HALF
                self.high -= HALF
                self.value -= HALF
            elif self.low >= QUARTER and self.high < THREE_QUARTERS:
                self.low -= QUARTER
                self.high -= QUARTER
                self.value -= QUARTER
            else:
                break
            self.low <<= 1
            self.high = (self.high << 1) | 1
            self.value = (self.value << 1) | self._next_bit()

    def decode(self, cumulative: np.ndarray) -> int:
        """Decode one symbol given ``cumulative`` (shape ``(V + 1,)``, ``cumulative[0] == 0``,
        ``cumulative[-1] == total``); return its index in ``[0, V)``."""
        total = int(cumulative[-1])
        count = self.target(total)
        symbol = int(np.searchsorted(cumulative, count, side="right")) - 1
        self.consume(int(cumulative[symbol]), int(cumulative[symbol + 1]), total)
        return symbol


def encode_symbols(symbols: np.ndarray, cumulative: np.ndarray) -> bytes:
    """Code ``symbols`` (shape ``(n,)``) with one table per symbol, ``cumulative`` of shape ``(n, V + 1)``."""
    encoder = ArithmeticEncoder()
    for symbol, table in zip(symbols.tolist(), cumulative.tolist()):
        encoder.encode(table[symbol], table[symbol + 1], table[-1])
    return encoder.finish()
