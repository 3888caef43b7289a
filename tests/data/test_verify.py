"""Less repeated work on the data path: re-runs read no unchanged input, unchanged shards are not re-hashed,
and corruption is still caught before training (``full=None``) or on demand (``--verify``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import bioLM.data.prepare as prepare_module
import bioLM.data.shards as shards_module
from bioLM.data.manifest import load_manifest
from bioLM.data.prepare import PrepareConfig, prepare_corpus
from bioLM.data.shards import verify_dataset
from bioLM.errors import InputFormatError
from bioLM.synthetic import random_dna, write_fasta_records
from bioLM.tokenization import build_tokenizer

CONFIG = PrepareConfig(val_fraction=0.3)


@pytest.fixture(scope="module")
def char():
    return build_tokenizer("char")


@pytest.fixture
def dataset(tmp_path: Path, rng: np.random.Generator, char) -> tuple[Path, Path]:
    """(input FASTA, prepared dataset) with the manifest dated one second after its shards, as a dataset
    prepared in another clock tick than now (no shard is "racily" as new as the manifest)."""
    path = write_fasta_records(tmp_path / "in.fa", [(f"r{i}", random_dna(400 + 50 * i, rng)) for i in range(5)])
    out = tmp_path / "ds"
    prepare_corpus([path], char, out, CONFIG)
    manifest = out / "manifest.json"
    later = manifest.stat().st_mtime_ns + 1_000_000_000
    os.utime(manifest, ns=(later, later))
    return path, out


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    hashed: list[Path] = []
    original = shards_module._verify_shard

    def counting(path, *args, **kwargs):
        hashed.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(shards_module, "_verify_shard", counting)
    return hashed


def _corrupt_keeping_mtime(shard: Path) -> None:
    info = shard.stat()
    data = shard.read_bytes()
    shard.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    os.utime(shard, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_unchanged_shards_are_not_hashed_and_a_touched_one_is(dataset, monkeypatch) -> None:
    _, out = dataset
    hashed = _count_hashes(monkeypatch)
    verify_dataset(out)
    assert hashed == []
    verify_dataset(out, full=True)
    n_shards = sum(len(s.shards) for s in load_manifest(out).splits.values())
    assert len(hashed) == n_shards >= 2
    hashed.clear()
    shard = out / load_manifest(out).splits["val"].shards[0].file
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 5))
    verify_dataset(out)
    assert hashed == [shard]


def test_corruption_in_place_is_caught_without_full_verification(dataset) -> None:
    _, out = dataset
    shard = out / load_manifest(out).splits["train"].shards[0].file
    data = shard.read_bytes()
    shard.write_bytes(bytes([data[0] ^ 1]) + data[1:])  # a write: new mtime, racily close to the manifest's
    with pytest.raises(InputFormatError, match="checksum does not match"):
        verify_dataset(out)


def test_full_verification_catches_what_the_mtime_hides(dataset, char) -> None:
    path, out = dataset
    shard = out / load_manifest(out).splits["train"].shards[0].file
    good = shard.read_bytes()
    _corrupt_keeping_mtime(shard)
    verify_dataset(out)  # documented limit of the cheap check: same size, same mtime
    with pytest.raises(InputFormatError, match="checksum does not match"):
        verify_dataset(out, full=True)
    prepare_corpus([path], char, out, CONFIG, verify=True)  # rebuilds what fails
    assert shard.read_bytes() == good


def test_rerun_with_unchanged_inputs_reads_none(dataset, char, monkeypatch) -> None:
    path, out = dataset
    fingerprint = load_manifest(out).fingerprint

    def fail(*args, **kwargs):
        raise AssertionError("an unchanged input was read")

    monkeypatch.setattr(prepare_module, "_index", fail)
    monkeypatch.setattr(prepare_module, "file_sha256", fail)
    assert prepare_corpus([path], char, out, CONFIG).fingerprint == fingerprint


def test_touched_input_is_hashed_once_and_not_rebuilt(dataset, char, monkeypatch) -> None:
    path, out = dataset
    before = load_manifest(out)
    shard = out / before.splits["train"].shards[0].file
    built = shard.stat().st_ino
    later = path.stat().st_mtime_ns + 1000  # touched, still older than the manifest written now
    os.utime(path, ns=(later, later))
    again = prepare_corpus([path], char, out, CONFIG)
    assert again.fingerprint == before.fingerprint and shard.stat().st_ino == built  # same shards, not rebuilt
    assert load_manifest(out).sources[0].mtime_ns == later  # recorded: the next run reads nothing
    monkeypatch.setattr(prepare_module, "_index", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    prepare_corpus([path], char, out, CONFIG)


def test_changed_input_rebuilds(dataset, char, rng) -> None:
    path, out = dataset
    before = load_manifest(out)
    write_fasta_records(path, [("x", random_dna(900, rng)), ("y", random_dna(700, rng))])
    after = prepare_corpus([path], char, out, CONFIG)
    assert after.fingerprint != before.fingerprint and after.sources[0].sha256 != before.sources[0].sha256
    assert after.sources[0].size == path.stat().st_size


def test_prepare_cli_verify_rebuilds_a_hidden_corruption(dataset) -> None:
    from bioLM.cli import main

    path, _ = dataset
    out = path.parent / "cli"
    args = ["prepare", str(path), "--out", str(out), "--val-fraction", "0.3"]
    assert main(args) == 0
    later = (out / "manifest.json").stat().st_mtime_ns + 1_000_000_000
    os.utime(out / "manifest.json", ns=(later, later))
    shard = out / load_manifest(out).splits["train"].shards[0].file
    good = shard.read_bytes()
    _corrupt_keeping_mtime(shard)
    assert main(args) == 0 and shard.read_bytes() != good  # the cheap check cannot see it
    assert main([*args, "--verify"]) == 0 and shard.read_bytes() == good


def test_manifest_of_an_older_version_is_upgraded_once(dataset, char, monkeypatch) -> None:
    """Without recorded sizes and mtimes (older manifests) inputs are hashed and shards verified once, then
    recorded, so the next run reads and hashes nothing."""
    path, out = dataset
    manifest = load_manifest(out)
    for source in manifest.sources:
        source.size = source.mtime_ns = None
    for split in manifest.splits.values():
        for shard in split.shards:
            shard.mtime_ns = None
    manifest.save(out)
    hashed = _count_hashes(monkeypatch)
    prepare_corpus([path], char, out, CONFIG)
    assert len(hashed) == sum(len(s.shards) for s in manifest.splits.values())
    assert all(s.mtime_ns for split in load_manifest(out).splits.values() for s in split.shards)
    later = (out / "manifest.json").stat().st_mtime_ns + 1_000_000_000
    os.utime(out / "manifest.json", ns=(later, later))
    hashed.clear()
    monkeypatch.setattr(prepare_module, "_index", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    prepare_corpus([path], char, out, CONFIG)
    verify_dataset(out)
    assert hashed == []


def test_input_as_new_as_the_manifest_is_hashed_again(dataset, char) -> None:
    """An input whose mtime is not older than the manifest may have changed in the same clock tick as it was
    hashed (same size, same mtime): it is read again, and a change is found."""
    path, out = dataset
    manifest = out / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    data = path.read_bytes()
    swapped = data.replace(b"A", b"t").replace(b"C", b"A").replace(b"t", b"C")  # same size, other bases
    assert swapped != data
    path.write_bytes(swapped)
    os.utime(path, ns=(stamp, load_manifest(out).sources[0].mtime_ns))  # the recorded mtime, kept
    os.utime(manifest, ns=(stamp, load_manifest(out).sources[0].mtime_ns))  # written in that same tick
    before = load_manifest(out).fingerprint
    assert prepare_corpus([path], char, out, CONFIG).fingerprint != before
