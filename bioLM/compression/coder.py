"""Entropy coding: ``constriction``'s range coder (vectorized categorical coding) and the 2-bit fallback.

Probabilities arrive as fp32 arrays ``(n, V)`` computed bit-identically by encoder and decoder;
constriction quantizes them to integer frequencies deterministically (``Categorical(perfect=False)``:
every symbol keeps a nonzero frequency) and codes them with a 32-bit-word range coder (a queue: symbols are
decoded in the order they were encoded). The fallback stores symbols with a fixed width of
``ceil(log2 V)`` bits (2 bits per base for a per-base tokenizer).
"""

from __future__ import annotations

import math

import numpy as np

from bioLM.errors import ConfigError


def _constriction():
    try:
        import constriction
    except ImportError:
        raise ConfigError("`biolm compress` needs the constriction package (its range coder): "
                          "pip install constriction (or pip install 'bioLM[compress]')") from None
    return constriction


class RangeEncoder:
    """Append symbols coded with per-symbol categorical probabilities; ``finish()`` returns the bytes."""

    def __init__(self) -> None:
        constriction = _constriction()
        self._encoder = constriction.stream.queue.RangeEncoder()
        self._family = constriction.stream.model.Categorical(perfect=False)

    def encode(self, symbols: np.ndarray, probabilities: np.ndarray) -> None:
        """Code ``symbols`` ``(n,)`` (ints in ``[0, V)``) under ``probabilities`` ``(n, V)`` (fp32 rows)."""
        if len(symbols):
            self._encoder.encode(np.ascontiguousarray(symbols, dtype=np.int32), self._family,
                                 np.ascontiguousarray(probabilities, dtype=np.float32))

    def finish(self) -> bytes:
        return self._encoder.get_compressed().astype("<u4").tobytes()


class RangeDecoder:
    """Inverse of :class:`RangeEncoder`: ``decode(probabilities (n, V)) -> symbols (n,)``, in coding order."""

    def __init__(self, data: bytes) -> None:
        constriction = _constriction()
        if len(data) % 4:
            raise ValueError(f"range-coded payload of {len(data)} bytes is not a whole number of 32-bit words")
        self._decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
        self._family = constriction.stream.model.Categorical(perfect=False)

    def decode(self, probabilities: np.ndarray) -> np.ndarray:
        if len(probabilities) == 0:
            return np.zeros(0, dtype=np.int64)
        try:
            return self._decoder.decode(self._family, np.ascontiguousarray(probabilities, dtype=np.float32))
        except (AssertionError, ValueError, RuntimeError) as error:  # constriction: data invalid for the model
            raise ValueError(f"the range-coded payload does not decode ({error})") from None


def symbol_width(vocab: int) -> int:
    """Bits per symbol of the fixed-width fallback code for an alphabet of ``vocab`` symbols."""
    return max(1, math.ceil(math.log2(max(vocab, 2))))


def pack_symbols(symbols: np.ndarray, width: int) -> bytes:
    """Fixed-width code: each symbol as ``width`` bits, most significant first, packed into bytes."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    bits = (np.asarray(symbols, dtype=np.int64)[:, None] >> shifts) & 1  # (n, width)
    return np.packbits(bits.astype(np.uint8).ravel()).tobytes()


def unpack_symbols(data: bytes, count: int, width: int) -> np.ndarray:
    """Inverse of :func:`pack_symbols`: ``count`` symbols (int64)."""
    if count * width > 8 * len(data):
        raise ValueError(f"fallback stream of {len(data)} bytes is too short for {count} symbols")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count * width].reshape(count, width)
    return (bits.astype(np.int64) << np.arange(width - 1, -1, -1, dtype=np.int64)).sum(1)
