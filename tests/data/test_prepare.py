"""Corpus preparation: exact token streams, splits, N runs, soft-mask, idempotence and atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioLM.data.manifest import load_manifest
from bioLM.data.prepare import PrepareConfig, choose_validation, prepare_corpus
from bioLM.data.shards import open_split, verify_dataset
from bioLM.errors import InputFormatError
from bioLM.synthetic import random_dna, write_fasta_records
from bioLM.tokenization import build_tokenizer, encode_sequence


@pytest.fixture(scope="module")
def char():
    return build_tokenizer("char")


def _tokens(directory: Path, split: str) -> np.ndarray:
    return np.concatenate([np.asarray(t) for t in open_split(directory, split).tokens] or [np.zeros(0)])


def _records(tmp_path: Path, rng: np.random.Generator, n: int = 6, length: int = 500) -> tuple[Path, list]:
    records = [(f"r{i}", random_dna(length + 37 * i, rng)) for i in range(n)]
    return write_fasta_records(tmp_path / "in.fa", records), records


def test_tokens_are_records_separated_by_eos_and_splits_are_disjoint(tmp_path, rng, char) -> None:
    path, records = _records(tmp_path, rng)
    manifest = prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=0.3, window_bases=128))
    held = choose_validation(np.array([len(s) for _, s in records]), 0.3, 0)
    for split, keep in (("train", ~held), ("val", held)):
        expected = np.concatenate([np.append(encode_sequence(char, s), 3) for (_, s), k in zip(records, keep) if k])
        np.testing.assert_array_equal(_tokens(tmp_path / "ds", split), expected)
        assert manifest.splits[split].records == keep.sum()
        assert manifest.splits[split].bases == sum(len(s) for (_, s), k in zip(records, keep) if k)
    assert 1 <= held.sum() < len(records)
    assert manifest.dtype == "uint16" and manifest.sources[0].records == len(records)
    assert manifest.tokenizer.kind == "char" and len(manifest.tokenizer.sha256) == 64


def test_single_record_is_split_by_contiguous_region(tmp_path, rng, char) -> None:
    sequence = random_dna(1000, rng)
    path = write_fasta_records(tmp_path / "one.fa", [("chr", sequence)])
    prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=0.2))
    np.testing.assert_array_equal(_tokens(tmp_path / "ds", "train"), np.append(encode_sequence(char, sequence[:800]), 3))
    np.testing.assert_array_equal(_tokens(tmp_path / "ds", "val"), np.append(encode_sequence(char, sequence[800:]), 3))


def test_long_n_runs_split_the_sequence_and_short_ones_stay(tmp_path, char) -> None:
    path = write_fasta_records(tmp_path / "n.fa", [("a", "ACGT" + "N" * 5 + "GG" + "N" * 12 + "TTA"), ("b", "C")])
    prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=0.0, n_run_threshold=10))
    expected = np.concatenate([encode_sequence(char, "ACGTNNNNNGG"), [3], encode_sequence(char, "TTA"), [3],
                               encode_sequence(char, "C"), [3]])
    np.testing.assert_array_equal(_tokens(tmp_path / "ds", "train"), expected)


def test_kmer_windows_keep_the_frame(tmp_path, rng) -> None:
    kmer = build_tokenizer("kmer", k=3)
    sequence = random_dna(100, rng)
    path = write_fasta_records(tmp_path / "k.fa", [("a", sequence)])
    prepare_corpus([path], kmer, tmp_path / "ds", PrepareConfig(val_fraction=0.0, window_bases=10))  # -> 9
    np.testing.assert_array_equal(_tokens(tmp_path / "ds", "train")[:-1][:30], encode_sequence(kmer, sequence)[:30])


def test_soft_mask_is_a_parallel_array(tmp_path, char) -> None:
    path = write_fasta_records(tmp_path / "m.fa", [("a", "ACGTacgtAC"), ("b", "ggCC")])
    prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=0.0, soft_mask=True))
    split = open_split(tmp_path / "ds", "train")
    np.testing.assert_array_equal(np.asarray(split.masks[0]), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0])


def test_rerun_is_a_no_op_and_a_change_rebuilds(tmp_path, rng, char) -> None:
    path, _ = _records(tmp_path, rng)
    first = prepare_corpus([path], char, tmp_path / "ds")
    stamp = (tmp_path / "ds" / "manifest.json").stat().st_mtime_ns
    again = prepare_corpus([tmp_path], char, tmp_path / "ds")  # same file, found through its directory
    assert again.fingerprint == first.fingerprint
    assert (tmp_path / "ds" / "manifest.json").stat().st_mtime_ns == stamp
    changed = prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(seed=1))
    assert changed.fingerprint != first.fingerprint
    assert load_manifest(tmp_path / "ds").fingerprint == changed.fingerprint


def test_interrupted_prepare_leaves_the_previous_dataset(tmp_path, rng, char, monkeypatch) -> None:
    path, _ = _records(tmp_path, rng)
    before = prepare_corpus([path], char, tmp_path / "ds")
    import bioLM.data.prepare as prepare

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare, "_write_region", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(seed=5))
    assert load_manifest(tmp_path / "ds").fingerprint == before.fingerprint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "in.fa"]  # no temporary left behind
    with pytest.raises(KeyboardInterrupt):
        prepare_corpus([path], char, tmp_path / "new", PrepareConfig(seed=5))
    assert not (tmp_path / "new").exists()


def test_manifest_records_sources_and_hashes(tmp_path, rng, char) -> None:
    path, records = _records(tmp_path, rng)
    prepare_corpus([path], char, tmp_path / "ds")
    data = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    import hashlib

    assert data["sources"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data["sources"][0]["bases"] == sum(len(s) for _, s in records)
    assert data["biolm_version"] and data["prepare_config"]["val_fraction"] == 0.1
    assert (tmp_path / "ds" / "tokenizer" / "tokenizer.json").is_file()


def test_missing_input_is_named(tmp_path, char) -> None:
    with pytest.raises(InputFormatError, match="nope.fa: input file does not exist"):
        prepare_corpus([tmp_path / "nope.fa"], char, tmp_path / "ds")


def test_corrupt_or_missing_shards_fail_verification(tmp_path, rng, char) -> None:
    path, _ = _records(tmp_path, rng)
    manifest = prepare_corpus([path], char, tmp_path / "ds")
    verify_dataset(tmp_path / "ds", vocab_size=len(char))
    shard = tmp_path / "ds" / manifest.splits["train"].shards[0].file
    data = bytearray(shard.read_bytes())
    data[10] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match="checksum does not match"):
        verify_dataset(tmp_path / "ds")
    shard.write_bytes(bytes(data[:-2]))
    with pytest.raises(InputFormatError, match="truncated or corrupt"):
        verify_dataset(tmp_path / "ds")
    shard.unlink()
    with pytest.raises(InputFormatError, match="shard file is missing"):
        verify_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").write_text("{")
    with pytest.raises(InputFormatError, match="corrupt manifest"):
        verify_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").unlink()
    with pytest.raises(InputFormatError, match="not a prepared dataset"):
        verify_dataset(tmp_path / "ds")


def test_protein_corpus(tmp_path, rng) -> None:
    from bioLM.synthetic import random_protein

    records = [(f"p{i}", random_protein(80, rng)) for i in range(5)]
    path = write_fasta_records(tmp_path / "p.fa", records)
    tokenizer = build_tokenizer("char", alphabet="protein")
    manifest = prepare_corpus([path], tokenizer, tmp_path / "ds", PrepareConfig(val_fraction=0.2))
    assert manifest.splits["train"].bases + manifest.splits["val"].bases == 400
    assert manifest.tokenizer.alphabet == "protein"


def test_prepare_cli(tmp_path, rng, capsys) -> None:
    from bioLM.cli import main

    path, records = _records(tmp_path, rng)
    assert main(["prepare", str(path), "--out", str(tmp_path / "ds"), "--tokenizer", "kmer", "-k", "3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"]["bases"] + summary["val"]["bases"] == sum(len(s) for _, s in records)
    assert load_manifest(tmp_path / "ds").tokenizer.k == 3
    assert main(["prepare", str(tmp_path / "missing.fa"), "--out", str(tmp_path / "x")]) == 2
    assert "input file does not exist" in capsys.readouterr().err


def test_shard_dtype_follows_vocabulary_size() -> None:
    from bioLM.data.prepare import shard_dtype

    assert shard_dtype(4096) == np.uint16 and shard_dtype(65536) == np.uint16
    assert shard_dtype(65537) == np.uint32


def test_split_by_region_holds_out_the_tail_of_every_record(tmp_path, rng, char) -> None:
    records = [(f"r{i}", random_dna(100, rng)) for i in range(3)]
    path = write_fasta_records(tmp_path / "in.fa", records)
    prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=0.2, split_by="region"))
    for split, part in (("train", slice(0, 80)), ("val", slice(80, 100))):
        expected = np.concatenate([np.append(encode_sequence(char, s[part]), 3) for _, s in records])
        np.testing.assert_array_equal(_tokens(tmp_path / "ds", split), expected)


@pytest.mark.parametrize(("lengths", "fraction", "whole_records"), [
    ([4_900, 4_600], 0.1, False),          # two genomes: either one would hold out ~half
    ([3_000, 2_500, 2_000], 0.05, False),  # three chromosomes at 5%
    ([100] * 40, 0.1, True),               # many records: 4 whole records are exactly 10%
])
def test_validation_share_honours_val_fraction(tmp_path, rng, char, caplog, lengths, fraction, whole_records) -> None:
    path = write_fasta_records(tmp_path / "in.fa", [(f"r{i}", random_dna(n, rng)) for i, n in enumerate(lengths)])
    with caplog.at_level("INFO", logger="bioLM.data.prepare"):
        manifest = prepare_corpus([path], char, tmp_path / "ds", PrepareConfig(val_fraction=fraction))
    share = manifest.splits["val"].bases / sum(lengths)
    assert abs(share - fraction) <= 0.2 * fraction
    assert (manifest.splits["val"].records < len(lengths)) == whole_records
    assert ("whole records" if whole_records else "the last") in caplog.text


def test_re_preparing_rebuilds_a_corrupt_shard(tmp_path, rng, char, caplog) -> None:
    path, _ = _records(tmp_path, rng)
    out = tmp_path / "ds"
    prepare_corpus([path], char, out, PrepareConfig(val_fraction=0.3))
    shard = out / load_manifest(out).splits["train"].shards[0].file
    good = shard.read_bytes()
    shard.write_bytes(bytes([good[0] ^ 1]) + good[1:])
    with pytest.raises(InputFormatError, match="run `biolm prepare` again"):
        verify_dataset(out)
    with caplog.at_level("WARNING", logger="bioLM.data.prepare"):
        prepare_corpus([path], char, out, PrepareConfig(val_fraction=0.3))
    assert "fails verification" in caplog.text and shard.read_bytes() == good
    verify_dataset(out)
