"""Adaptive (prequential) coding: the model learns from the bases already coded, on both sides.

After each block of lockstep steps (see :mod:`bioLM.compression.lanes`) the encoder and the decoder run the
same training steps on the block's symbols (every lane whose block is complete, in minibatches of
``micro_lanes`` lanes, AdamW, fp32, gradient clipping), so the next block is coded by a model that has
seen everything before it. No weights are shipped: the payload is the model's prequential code length.
Replaying the updates needs bit-identical floating point: same torch version and CPU capability, one torch
thread (each stream of :mod:`bioLM.compression.streams` trains its own copy of the model); the container
records them and decompression refuses anything else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass
class AdaptiveConfig:
    """How the model starts and learns while coding (stored in the container header)."""

    preset: str = "tiny"
    """Model preset of the random initialization (ignored when starting from a model directory)."""
    context: int = 64
    """Context (block_size) of the randomly initialized model; also caps the block length (steps per update)."""
    seed: int = 0
    """Seed of the random initialization."""
    lr: float = 4e-3
    """AdamW learning rate (constant)."""
    micro_lanes: int = 32
    """Lanes per training step: a block of L lanes gives ceil(L / micro_lanes) steps."""
    weight_decay: float = 0.0
    """AdamW weight decay."""


def random_init(config: AdaptiveConfig):
    """(model, tokenizer, identity) of a randomly initialized per-base DNA model from ``config``."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(config.seed)
    model = BioLMForCausalLM(config_from_preset(config.preset, len(tokenizer), block_size=config.context)).eval()
    identity = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    return model, tokenizer, "random:" + identity


def runtime() -> dict:
    """What bit-identical replay needs: torch version, CPU capability and the CPU's bf16 units."""
    from bioLM.hardware import CPU_BF16_FLAGS, cpu_flags

    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_bf16": sorted(set(CPU_BF16_FLAGS) & cpu_flags())}


def check_runtime(header: dict, path, what: str = "adaptive", why: str = "the model's updates") -> None:
    """Refuse to decode where ``why`` (adaptive updates, bf16 arithmetic) would not replay bit for bit: another
    torch build, CPU capability or set of bf16 units than the file's."""
    from bioLM.compression.container import ContainerError

    here = runtime()
    for key, value in here.items():
        if header.get(key) != value:
            raise ContainerError(f"{what} file made with {key} {header.get(key)!r}, this machine has {value!r}: {why} "
                                 "would not replay bit for bit; decompress with the same torch build on the same "
                                 "kind of CPU", path=path)


class OnlineTrainer:
    """``after_block`` hook: AdamW steps on the symbols of the block just coded (or decoded)."""

    def __init__(self, model, alphabet_ids: np.ndarray, config: AdaptiveConfig) -> None:
        self.model, self.config = model, config
        self.ids = torch.as_tensor(alphabet_ids, dtype=torch.long)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.95),
                                           weight_decay=config.weight_decay)
        self.steps = 0

    def __call__(self, grid: np.ndarray, start: int, end: int) -> None:
        block = grid[:, start:end]  # (L, T)
        full = np.flatnonzero((block >= 0).all(1))
        if end - start < 2 or len(full) == 0:
            return
        with torch.inference_mode(False), torch.enable_grad():  # called from the coding loop's inference mode
            tokens = self.ids[torch.as_tensor(block[full], dtype=torch.long)]  # (L', T)
            for first in range(0, len(full), self.config.micro_lanes):
                batch = tokens[first:first + self.config.micro_lanes]
                loss = self.model(input_ids=batch, labels=batch, use_cache=False).loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
                self.steps += 1
