"""Batches: a pure function of (seed, step), sliced by rank; validation covers every token once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bioLM.data.datamodule import BioLMDataModule, StepSampler, TrainWindows, ValWindows
from bioLM.data.prepare import PrepareConfig, prepare_corpus
from bioLM.data.shards import open_split
from bioLM.errors import InputFormatError
from bioLM.synthetic import random_dna, write_fasta_records
from bioLM.tokenization import build_tokenizer, complement_table, encode_sequence, reverse_complement


@pytest.fixture
def dataset(tmp_path, rng):
    records = [(f"r{i}", random_dna(300 + 50 * i, rng)) for i in range(6)]
    path = write_fasta_records(tmp_path / "in.fa", records)
    tokenizer = build_tokenizer("char")
    prepare_corpus([path], tokenizer, tmp_path / "ds", PrepareConfig(val_fraction=0.3, shard_tokens=500))
    return tmp_path / "ds", tokenizer


def test_batches_depend_only_on_seed_and_step_and_ranks_slice_the_global_batch(dataset) -> None:
    directory, _ = dataset
    split = open_split(directory, "train")
    assert len(split.tokens) > 1  # several shards
    whole = TrainWindows(split, 16, 4, seed=7)
    again = TrainWindows(open_split(directory, "train"), 16, 4, seed=7)
    torch.testing.assert_close(whole[3]["input_ids"], again[3]["input_ids"])
    assert not torch.equal(whole[3]["input_ids"], whole[4]["input_ids"])
    assert not torch.equal(whole[3]["input_ids"], TrainWindows(split, 16, 4, seed=8)[3]["input_ids"])
    ranks = [TrainWindows(split, 16, 2, seed=7, rank=r, world_size=2)[3]["input_ids"] for r in range(2)]
    torch.testing.assert_close(torch.cat(ranks), whole[3]["input_ids"])
    assert whole[3]["input_ids"].shape == (4, 17) and whole[3]["input_ids"].dtype == torch.int64


def test_windows_are_real_stretches_of_one_shard(dataset) -> None:
    directory, _ = dataset
    split = open_split(directory, "train")
    shards = [np.asarray(t) for t in split.tokens]
    for row in TrainWindows(split, 32, 8, seed=0)[0]["input_ids"].numpy():
        assert any(np.any(np.all(np.lib.stride_tricks.sliding_window_view(s, 33) == row, axis=1)) for s in shards)


def test_reverse_complement_augmentation(dataset) -> None:
    directory, tokenizer = dataset
    split = open_split(directory, "train")
    plain = TrainWindows(split, 16, 8, seed=1)[0]["input_ids"].numpy()
    flipped = TrainWindows(split, 16, 8, seed=1, rc_table=complement_table(tokenizer))[0]["input_ids"].numpy()
    rows = [i for i in range(8) if not np.array_equal(plain[i], flipped[i])]
    assert 0 < len(rows) < 8  # about half the rows are flipped (seeded)
    checked = 0
    for i in rows:
        text = tokenizer.decode(plain[i].tolist())
        if "<" not in text:  # windows without a record separator
            np.testing.assert_array_equal(flipped[i], encode_sequence(tokenizer, reverse_complement(text)))
            checked += 1
    assert checked


def test_validation_windows_predict_every_token_once(dataset) -> None:
    directory, _ = dataset
    split = open_split(directory, "val")
    total = split.n_tokens
    windows = ValWindows(split, 16)
    predicted = sum(int(windows[i]["length"]) - 1 for i in range(len(windows)))
    assert predicted == total - len(split.tokens)  # all but the first token of each shard
    halves = [ValWindows(split, 16, rank=r, world_size=2) for r in range(2)]
    assert len(halves[0]) + len(halves[1]) == len(windows)
    last = windows[len(windows) - 1]
    assert torch.all(last["input_ids"][int(last["length"]):] == 0)


def test_sampler_starts_where_the_trainer_is() -> None:
    position = {"step": 0}
    sampler = StepSampler(10, lambda: position["step"])
    assert list(sampler) == list(range(10))
    position["step"] = 7
    assert list(sampler) == [7, 8, 9] and len(sampler) == 10


def test_datamodule_loaders(dataset) -> None:
    directory, _ = dataset
    module = BioLMDataModule(directory, seq_len=16, micro_batch_size=4, total_micro_steps=5, seed=0)
    batches = list(module.train_dataloader())
    assert len(batches) == 5 and batches[0]["input_ids"].shape == (4, 17)
    val = next(iter(module.val_dataloader()))
    assert val["input_ids"].shape[1] == 17 and "length" in val


def test_context_longer_than_every_shard_is_an_error(dataset) -> None:
    directory, _ = dataset
    with pytest.raises(InputFormatError, match="lower model.context_length"):
        TrainWindows(open_split(directory, "train"), 5000, 2, seed=0)
