"""The training data module: random windows of the train shards, all of the validation shards.

Exact resume and DDP equivalence come from one rule: the global micro-batch at micro-step ``s`` is a pure
function of ``(seed, s)`` (window starts drawn from ``np.random.default_rng([seed, s])``) and rank ``r`` of
``world`` takes rows ``r*b:(r+1)*b`` of it. The sampler starts at the micro-step the trainer has reached
(``global_step * accumulate_grad_batches``), read when iteration begins, i.e. after a checkpoint is restored.
Validation covers every validation token once, in non-overlapping windows, split across ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bioLM.data.shards import Split, open_split, window_start_counts
from bioLM.errors import InputFormatError
from bioLM.tokenization.special import PAD_ID


class TrainWindows(Dataset):
    """Map-style dataset indexed by global micro-step: item ``s`` is this rank's micro-batch at step ``s``,
    a dict with ``input_ids`` (b, T+1) int64 and, when the shards carry a soft-mask, ``soft_mask`` (b, T+1)."""

    def __init__(self, split: Split, seq_len: int, micro_batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1, rc_table: np.ndarray | None = None) -> None:
        self.split, self.window = split, seq_len + 1
        self.b, self.seed, self.rank, self.world = micro_batch_size, seed, rank, world_size
        self.rc_table = rc_table
        self.counts, self.cumulative = window_start_counts([len(t) for t in split.tokens], self.window)
        if self.cumulative[-1] == 0:
            raise InputFormatError(f"no training shard holds a window of {self.window} tokens; lower "
                                   "model.context_length or give a larger corpus")

    def __len__(self) -> int:
        return 2 ** 62

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(step)])
        total = self.b * self.world
        draws = rng.integers(0, int(self.cumulative[-1]), size=total)
        flips = rng.random(total) < 0.5
        rows = slice(self.rank * self.b, (self.rank + 1) * self.b)
        ids, masks = [], []
        for draw, flip in zip(draws[rows], flips[rows]):
            shard = int(np.searchsorted(self.cumulative, draw, side="right") - 1)
            start = int(draw - self.cumulative[shard])
            window = np.asarray(self.split.tokens[shard][start:start + self.window], dtype=np.int64)
            mask = (None if self.split.masks is None
                    else np.asarray(self.split.masks[shard][start:start + self.window], dtype=np.float32))
            if self.rc_table is not None and flip:
                window = self.rc_table[window[::-1]].astype(np.int64)  # reverse complement
                mask = None if mask is None else mask[::-1].copy()
            ids.append(window)
            masks.append(mask)
        batch = {"input_ids": torch.from_numpy(np.stack(ids))}
        if self.split.masks is not None:
            batch["soft_mask"] = torch.from_numpy(np.stack(masks))
        return batch


class StepSampler(Sampler[int]):
    """Yields micro-steps ``start, start+1, ..., total-1`` where ``start`` is read at ``iter()`` time."""

    def __init__(self, total: int, start_fn: Callable[[], int] = lambda: 0) -> None:
        self.total, self.start_fn = total, start_fn

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[int]:
        return iter(range(int(self.start_fn()), self.total))


class StepDataLoader(DataLoader):
    """A DataLoader Lightning treats as resumable: its position is derived from the trainer's step."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


class ValWindows(Dataset):
    """Non-overlapping windows of ``T+1`` tokens covering every validation token once (each window's last
    token is the next one's first). Item: ``input_ids`` (T+1,) padded with 0 and ``length`` (real tokens)."""

    def __init__(self, split: Split, seq_len: int, rank: int = 0, world_size: int = 1,
                 max_windows: int | None = None) -> None:
        self.split, self.window = split, seq_len + 1
        items = [(s, start) for s, tokens in enumerate(split.tokens)
                 for start in range(0, max(len(tokens) - 1, 0), seq_len)]
        if max_windows is not None:
            items = items[:max_windows]
        self.items = items[rank::world_size]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        shard, start = self.items[index]
        chunk = np.asarray(self.split.tokens[shard][start:start + self.window], dtype=np.int64)
        ids = np.full(self.window, PAD_ID, dtype=np.int64)
        ids[:len(chunk)] = chunk
        item = {"input_ids": torch.from_numpy(ids), "length": torch.tensor(len(chunk))}
        if self.split.masks is not None:
            mask = np.zeros(self.window, dtype=np.float32)
            mask[:len(chunk)] = self.split.masks[shard][start:start + self.window]
            item["soft_mask"] = torch.from_numpy(mask)
        return item


class BioLMDataModule(L.LightningDataModule):
    """Batches from a prepared dataset directory (see :mod:`bioLM.data.prepare`)."""

    def __init__(self, dataset_dir: str | Path, seq_len: int, micro_batch_size: int, total_micro_steps: int,
                 seed: int = 0, rc_table: np.ndarray | None = None, num_workers: int = 0,
                 val_batch_size: int | None = None, val_max_windows: int | None = None) -> None:
        super().__init__()
        self.dataset_dir = Path(dataset_dir)
        self.seq_len, self.micro_batch_size = seq_len, micro_batch_size
        self.total_micro_steps, self.seed, self.rc_table = total_micro_steps, seed, rc_table
        self.num_workers = num_workers
        self.val_batch_size = val_batch_size or micro_batch_size
        self.val_max_windows = val_max_windows

    def _rank(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _start_step(self) -> int:
        trainer = getattr(self, "trainer", None)
        return 0 if trainer is None else trainer.global_step * trainer.accumulate_grad_batches

    def train_dataloader(self) -> DataLoader:
        rank, world = self._rank()
        dataset = TrainWindows(open_split(self.dataset_dir, "train"), self.seq_len, self.micro_batch_size,
                               self.seed, rank, world, self.rc_table)
        return StepDataLoader(dataset, batch_size=None, sampler=StepSampler(self.total_micro_steps,
                              self._start_step), num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        rank, world = self._rank()
        dataset = ValWindows(open_split(self.dataset_dir, "val"), self.seq_len, rank, world,
                             self.val_max_windows)
        return DataLoader(dataset, batch_size=self.val_batch_size, shuffle=False, num_workers=self.num_workers)
