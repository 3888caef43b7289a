"""Theoretical bits per base: the model's log-likelihood of a FASTA file's bases, without coding.

The contexts are exactly those the compressor uses (same lanes, same sliding rule, see
:mod:`bioLM.compression.stepper`), computed teacher-forced: one forward pass per window of ``context``
tokens instead of one per token. Two figures per file:

* ``bits``: ``-log2 p`` with ``p`` renormalized over the coding alphabet (A/C/G/T tokens): what an ideal
  coder needs; the arithmetic coder approaches it (plus quantization and a few bytes per record);
* ``model_bits``: ``-log2 p`` under the full softmax (the training loss, in bits).

Bits per base divide by the A/C/G/T bases the model codes (N runs, IUPAC codes and case go to side
streams and are not counted); the classic baselines are computed on the same bases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bioLM.compression.baselines import classic_bits_per_base
from bioLM.compression.codec import CodecConfig, CodingModel, coding_threads
from bioLM.compression.sidestreams import split_record
from bioLM.compression.stepper import lane_sizes, segments
from bioLM.tokenization.special import BOS_ID

WINDOW_BATCH = 16
LN2 = math.log(2.0)


@dataclass
class BitsResult:
    """Theoretical bits of one file. ``bases``: A/C/G/T bases coded by the model; ``letters``: all letters."""

    path: str
    records: int = 0
    letters: int = 0
    bases: int = 0
    tokens: int = 0
    bits: float = 0.0
    model_bits: float = 0.0
    baselines: dict[str, float] = field(default_factory=dict)

    @property
    def bits_per_base(self) -> float:
        return self.bits / self.bases if self.bases else 0.0

    @property
    def model_bits_per_base(self) -> float:
        return self.model_bits / self.bases if self.bases else 0.0

    def as_dict(self) -> dict:
        return {"path": self.path, "records": self.records, "letters": self.letters, "bases": self.bases,
                "tokens": self.tokens, "bits_per_base": self.bits_per_base,
                "model_bits_per_base": self.model_bits_per_base, **{k: v for k, v in self.baselines.items()}}


def _window_bits(coding: CodingModel, windows: list[torch.Tensor], offsets: list[int],
                 targets: list[np.ndarray]) -> tuple[float, float]:
    """Bits of the targets of equally long windows (each ``(T,)`` of fed ids), batched."""
    columns = torch.as_tensor(coding.alphabet.ids)
    bits = model_bits = 0.0
    for i in range(0, len(windows), WINDOW_BATCH):
        batch = torch.stack(windows[i:i + WINDOW_BATCH])  # (B, T)
        logits = coding.model(input_ids=batch, use_cache=False).logits.float()  # (B, T, V)
        for row, (offset, target) in enumerate(zip(offsets[i:i + WINDOW_BATCH], targets[i:i + WINDOW_BATCH])):
            chosen = logits[row, offset:offset + len(target)]  # (n, V)
            symbols = torch.as_tensor(target)
            coded = torch.log_softmax(chosen.index_select(1, columns), dim=-1)
            full = torch.log_softmax(chosen, dim=-1)
            bits -= float(coded.gather(1, symbols[:, None]).sum()) / LN2
            model_bits -= float(full.gather(1, columns[symbols][:, None]).sum()) / LN2
    return bits, model_bits


@torch.inference_mode()
def lane_bits(coding: CodingModel, symbols: np.ndarray) -> tuple[float, float]:
    """(coding-alphabet bits, full-softmax bits) of one lane of symbols, with the compressor's contexts."""
    ids = coding.alphabet.ids[symbols]
    fed = torch.as_tensor(np.concatenate([[BOS_ID], ids[:-1]]), dtype=torch.long)
    groups: dict[int, tuple[list, list, list]] = {}
    for start, first, end in segments(len(symbols), coding.context):
        windows, offsets, targets = groups.setdefault(end - start, ([], [], []))
        windows.append(fed[start:end])
        offsets.append(first - start)
        targets.append(symbols[first:end])
    total = [0.0, 0.0]
    for windows, offsets, targets in groups.values():
        bits, model_bits = _window_bits(coding, windows, offsets, targets)
        total[0] += bits
        total[1] += model_bits
    return total[0], total[1]


def file_bits(coding: CodingModel, path: str | Path, config: CodecConfig | None = None,
              baselines: bool = True) -> BitsResult:
    """Theoretical bits of every record of the FASTA file ``path`` (see the module docstring)."""
    from bioLM.io import read_fastx

    config = config or CodecConfig()
    result, cores = BitsResult(str(path)), []
    with coding_threads(config.threads):
        for record in read_fastx(path, alphabet="rna", rna_as_dna=False, allow_duplicate_ids=True):
            core, _ = split_record(record.sequence)
            symbols = coding.symbols(core, record.id)
            start = 0
            for size in lane_sizes(len(symbols), config.lanes, config.min_lane_tokens) if len(symbols) else []:
                bits, model_bits = lane_bits(coding, symbols[start:start + size])
                result.bits += bits
                result.model_bits += model_bits
                start += size
            result.records += 1
            result.letters += len(record.sequence)
            result.bases += len(core)
            result.tokens += len(symbols)
            if baselines:
                cores.append(core)
    if baselines:
        result.baselines = classic_bits_per_base("".join(cores).encode("ascii"))
    return result
