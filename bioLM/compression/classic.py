"""Classic compressors on the same bases, for comparison with the model's bits per base."""

from __future__ import annotations

import bz2
import gzip
import lzma


def classic_bits_per_base(bases: bytes) -> dict[str, float]:
    """Bits per base of ``bases`` (the letters only, no headers or newlines) under gzip -9, bzip2 -9,
    xz -9e (lzma preset 9 | PRESET_EXTREME) and the 2-bit code. Empty input gives 0.0 for the compressors."""
    n = len(bases)
    if n == 0:
        return {"gzip-9": 0.0, "bzip2-9": 0.0, "xz-9e": 0.0, "2bit": 2.0}
    sizes = {
        "gzip-9": len(gzip.compress(bases, compresslevel=9, mtime=0)),
        "bzip2-9": len(bz2.compress(bases, compresslevel=9)),
        "xz-9e": len(lzma.compress(bases, preset=9 | lzma.PRESET_EXTREME)),
    }
    result = {name: 8.0 * size / n for name, size in sizes.items()}
    result["2bit"] = 2.0
    return result
