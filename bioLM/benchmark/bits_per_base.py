"""Bits per base (DNA, the compressor's exact contexts) or per residue (protein) of FASTA files, with a
bootstrap CI over coding units, beside gzip / bzip2 / xz on the same letters.

DNA units are the compressor's lanes (:func:`bioLM.compression.bits.lane_bits`); protein units are windows of
at most ``context - 1`` residues, each scored from ``<bos>`` (:func:`bioLM.scoring.likelihood.log_likelihoods`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from bioLM.alphabet import detect_alphabet
from bioLM.benchmark.metrics import ratio_ci
from bioLM.compression.classic import classic_bits_per_base


def read_prefix(path: Path, max_letters: int | None) -> list[tuple[str, str]]:
    """``(id, sequence)`` of the first records of ``path``, cut so that at most ``max_letters`` letters remain."""
    from bioLM.io import read_fastx

    records, total = [], 0
    for record in read_fastx(path, alphabet="protein" if _is_protein(path) else "rna", allow_duplicate_ids=True):
        sequence = record.sequence if max_letters is None else record.sequence[:max_letters - total]
        records.append((record.id, sequence))
        total += len(sequence)
        if max_letters is not None and total >= max_letters:
            break
    return records


def _is_protein(path: Path) -> bool:
    from bioLM.io import read_fastx

    sample = "".join(r.sequence[:200] for _, r in zip(range(20), read_fastx(path, allow_duplicate_ids=True,
                                                                             alphabet="protein")))
    return detect_alphabet(sample) == "protein"


def dna_units(model_dir: Path, records: list[tuple[str, str]]) -> tuple[list[float], list[float], bytes]:
    """Per-lane (bits, bases) with the compressor's lanes and contexts, and the A/C/G/T bases coded."""
    from bioLM.compression.bits import BitsConfig, BitsModel, lane_bits
    from bioLM.compression.sidestreams import split_record
    from bioLM.compression.stepper import lane_sizes
    from bioLM.model.loading import load

    coding, config = BitsModel(load(model_dir, precision="fp32")), BitsConfig()
    bits, bases, cores = [], [], []
    for name, sequence in records:
        core, _ = split_record(sequence)
        symbols = coding.tokens(core, name)
        start = 0
        for size in lane_sizes(len(symbols), config.lanes, config.min_lane_tokens) if len(symbols) else []:
            bits.append(lane_bits(coding, symbols[start:start + size])[0])
            bases.append(len(core) * size / len(symbols))
            start += size
        cores.append(core)
    return bits, bases, "".join(cores).encode("ascii")


def protein_units(model_dir: Path, records: list[tuple[str, str]]) -> tuple[list[float], list[float], bytes]:
    """Per-window (bits, residues): windows of at most context-1 residues, each scored from ``<bos>``."""
    from bioLM.model.loading import load
    from bioLM.scoring.likelihood import LikelihoodOptions, log_likelihoods

    model, tokenizer = loaded = load(model_dir, precision="fp32")
    size = (loaded.context or 1024) - 1
    windows = [s[i:i + size] for _, s in records for i in range(0, len(s), size)]
    sums, _ = log_likelihoods(model, tokenizer, windows, LikelihoodOptions(progress=False))
    return [float(-v / math.log(2)) for v in sums], [float(len(w)) for w in windows], \
        "".join(s for _, s in records).encode("ascii")


def file_bits_with_ci(model_dir: Path, path: Path, max_letters: int | None, n_boot: int, seed: int) -> dict:
    """Bits per base/residue of one FASTA file with its CI and the classic compressors on the same letters."""
    records = read_prefix(path, max_letters)
    protein = _is_protein(path)
    with torch.inference_mode():
        bits, letters, raw = (protein_units if protein else dna_units)(model_dir, records)
    value, low, high = ratio_ci(np.asarray(bits), np.asarray(letters), n_boot, seed)
    unit = "residue" if protein else "base"
    return {"file": str(path), "unit": unit, "records": len(records), "letters": int(sum(letters)),
            "coding_units": len(bits), "model": {"value": value, "ci": [low, high]},
            "classic": classic_bits_per_base(raw)}
