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

from bioLM.compression.classic import classic_bits_per_base
from bioLM.compression.sidestreams import split_record
from bioLM.compression.stepper import CodingAlphabet, base_token_ids, lane_sizes, segments, start_token
from bioLM.errors import ConfigError
from bioLM.model.loading import LoadedModel
from bioLM.model.modeling import token_log_probs

WINDOW_BATCH = 16
LN2 = math.log(2.0)


@dataclass
class BitsConfig:
    """Lanes as in ``biolm compress`` (the contexts of :mod:`bioLM.compression.stepper`)."""

    lanes: int = 8
    """Most lanes a record is cut into; 1 = one left-to-right pass."""
    min_lane_tokens: int = 4096
    """Fewest tokens per lane: short records use fewer lanes."""
    threads: int | None = None
    """torch CPU threads while scoring (None: unchanged)."""


class BitsModel:
    """A causal LM prepared for bits: the token ids that spell A/C/G/T only (the coding alphabet), the start token.

    Works with any causal LM whose tokens spell sequences (bioLM's, GPT-2, Llama, ...; per-base, k-mer or
    BPE tokens): a sequence is tokenized by the model's tokenizer and must be spelled back exactly by its tokens.
    """

    def __init__(self, loaded: LoadedModel) -> None:
        loaded.require("causal", "bits")
        self.loaded = loaded
        alphabet = CodingAlphabet.from_tokenizer(loaded.tokenizer, loaded.path or "the model")
        self.ids = alphabet.ids
        self.texts = dict(zip(alphabet.ids.tolist(), alphabet.texts))
        self.start = start_token(loaded.tokenizer, loaded.path or "the model")
        if loaded.context is None:
            raise ConfigError(f"{loaded.path}: the model config does not say its context length")
        self.context = int(loaded.context)

    def tokens(self, core: str, record: str) -> np.ndarray:
        """Token ids of the A/C/G/T string ``core``; an error when they do not spell it exactly."""
        ids = base_token_ids(self.loaded.tokenizer, core)
        spelled = "".join(self.texts.get(int(i), "?") for i in ids.tolist())
        if spelled != core:
            raise ConfigError(f"record {record!r}: the tokenizer of {self.loaded.path} does not spell this "
                              "sequence with A/C/G/T tokens only (an overlapping k-mer or lowercase vocabulary?), "
                              "so it has no bits per base; use a model with per-base, k-mer (stride = k) or BPE "
                              "tokens")
        return ids


def _window_bits(coding: BitsModel, windows: list[torch.Tensor], offsets: list[int],
                 targets: list[np.ndarray]) -> tuple[float, float]:
    """Bits of the targets of equally long windows (each ``(T,)`` of fed ids), batched."""
    columns = torch.as_tensor(coding.ids)
    index = {int(i): k for k, i in enumerate(coding.ids.tolist())}
    loaded = coding.loaded
    bits = model_bits = 0.0
    for i in range(0, len(windows), WINDOW_BATCH):
        batch = torch.stack(windows[i:i + WINDOW_BATCH]).to(loaded.device)  # (B, T)
        with loaded.autocast():
            logits = loaded.model(input_ids=batch, use_cache=False).logits  # (B, T, V)
        for row, (offset, target) in enumerate(zip(offsets[i:i + WINDOW_BATCH], targets[i:i + WINDOW_BATCH])):
            chosen = logits[row, offset:offset + len(target)][None]  # (1, n, V)
            full = torch.as_tensor(target)[None]  # (1, n) token ids
            coded = torch.as_tensor([index[t] for t in target.tolist()])[None]  # (1, n) alphabet indices
            bits -= float(token_log_probs(chosen.index_select(2, columns.to(chosen.device)), coded).sum()) / LN2
            model_bits -= float(token_log_probs(chosen, full).sum()) / LN2
    return bits, model_bits


@torch.inference_mode()
def lane_bits(coding: BitsModel, ids: np.ndarray) -> tuple[float, float]:
    """(coding-alphabet bits, full-softmax bits) of one lane of token ids, with the compressor's contexts."""
    fed = torch.as_tensor(np.concatenate([[coding.start], ids[:-1]]), dtype=torch.long)
    groups: dict[int, tuple[list, list, list]] = {}
    for start, first, end in segments(len(ids), coding.context):
        windows, offsets, targets = groups.setdefault(end - start, ([], [], []))
        windows.append(fed[start:end])
        offsets.append(first - start)
        targets.append(ids[first:end])
    total = [0.0, 0.0]
    for windows, offsets, targets in groups.values():
        bits, model_bits = _window_bits(coding, windows, offsets, targets)
        total[0] += bits
        total[1] += model_bits
    return total[0], total[1]


def file_bits(coding: BitsModel | LoadedModel, path: str | Path, config: BitsConfig | None = None,
              baselines: bool = True) -> BitsResult:
    """Theoretical bits of every record of the FASTA file ``path`` (see the module docstring).

    ``config``: anything with ``lanes`` and ``min_lane_tokens`` (a :class:`BitsConfig`, or the compressor's
    ``CodecConfig``, so the contexts are the compressor's).
    """
    from bioLM.io import read_fastx

    coding = coding if isinstance(coding, BitsModel) else BitsModel(coding)
    config = config or BitsConfig()
    result, cores = BitsResult(str(path)), []
    previous = torch.get_num_threads()
    threads = getattr(config, "threads", None)
    if threads:
        torch.set_num_threads(threads)
    try:
        for record in read_fastx(path, alphabet="rna", rna_as_dna=False, allow_duplicate_ids=True):
            core, _ = split_record(record.sequence)
            ids = coding.tokens(core, record.id) if core else np.zeros(0, dtype=np.int64)
            start = 0
            for size in lane_sizes(len(ids), config.lanes, config.min_lane_tokens) if len(ids) else []:
                bits, model_bits = lane_bits(coding, ids[start:start + size])
                result.bits += bits
                result.model_bits += model_bits
                start += size
            result.records += 1
            result.letters += len(record.sequence)
            result.bases += len(core)
            result.tokens += len(ids)
            if baselines:
                cores.append(core)
    finally:
        torch.set_num_threads(previous)
    if baselines:
        result.baselines = classic_bits_per_base("".join(cores).encode("ascii"))
    return result


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
