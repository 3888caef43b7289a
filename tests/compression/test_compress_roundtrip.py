"""compress_fasta / decompress round trips with a tiny model: byte-exact records, checks, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.compression import CodecConfig, ContainerError, ModelMismatchError, compress_fasta, decompress
from bioLM.compression.container import DIGEST_SIZE
from bioLM.errors import InputFormatError, ModelDirectoryError
from bioLM.synthetic import random_dna, write_fasta_records

FAST = CodecConfig(lanes=8, min_lane_tokens=48)
IUPAC = "NRYSWKMBDHV-"


def soft_masked(sequence: str, rng: np.random.Generator) -> str:
    chars = list(sequence)
    for start in rng.integers(0, len(chars), size=4).tolist():
        for i in range(start, min(len(chars), start + int(rng.integers(1, 60)))):
            chars[i] = chars[i].lower()
    return "".join(chars)


def with_iupac(sequence: str, rng: np.random.Generator) -> str:
    chars = list(sequence)
    for i in rng.integers(0, len(chars), size=len(chars) // 20).tolist():
        chars[i] = IUPAC[int(rng.integers(len(IUPAC)))]
    return "".join(chars)


def dataset(kind: str) -> list[tuple[str, str]]:
    rng = np.random.default_rng(11)
    if kind == "random":
        return [("r1 random record", random_dna(700, rng)), ("r2", random_dna(61, rng))]
    if kind == "repetitive":
        return [("rep", ("GATTACA" * 150)[:1000])]
    if kind == "n_runs":
        return [("n1", "N" * 30 + random_dna(200, rng) + "N" * 130 + random_dna(100, rng) + "N" * 5),
                ("n2", "NNNN"), ("n3", "ACGTN")]
    if kind == "lowercase":
        return [("lc1 masked", soft_masked(random_dna(600, rng), rng)), ("lc2", "acgtacgtnnnnACGT"),
                ("lc3", "a")]
    if kind == "iupac":
        return [("iu1", with_iupac(random_dna(500, rng), rng)), ("iu2", "RYSWKMBDHV-acgtU")]
    if kind == "empty":
        return [("e1", ""), ("e2 with description", ""), ("e3", "ACGT"), ("e4", "")]
    if kind == "tiny_records":
        return [(f"t{i}", random_dna(int(rng.integers(0, 6)), rng)) for i in range(40)]
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["random", "repetitive", "n_runs", "lowercase", "iupac", "empty", "tiny_records"])
def test_round_trip_is_byte_exact(kind, tmp_path, tiny_model_dir, coding_model):
    source = write_fasta_records(tmp_path / "in.fa", dataset(kind), width=60)
    report = compress_fasta(tiny_model_dir, source, tmp_path / "x.blm", FAST, coding=coding_model)
    restored = decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert (tmp_path / "out.fa").read_bytes() == source.read_bytes()
    assert restored.records == report.records == len(dataset(kind))
    assert not (tmp_path / "out.fa.partial").exists()


def test_long_single_lane_slides_the_context(tmp_path, tiny_model_dir, coding_model):
    """One lane of 300 tokens with a context of 64: the cache is re-primed several times."""
    records = [("slide", random_dna(300, np.random.default_rng(5)))]
    source = write_fasta_records(tmp_path / "in.fa", records, width=0)  # one line: restored with 60 columns
    compress_fasta(tiny_model_dir, source, tmp_path / "x.blm", CodecConfig(lanes=1), coding=coding_model)
    decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    expected = write_fasta_records(tmp_path / "expected.fa", records, width=60)
    assert (tmp_path / "out.fa").read_bytes() == expected.read_bytes()


def test_round_trip_with_a_kmer_tokenizer(tmp_path, kmer_model_dir):
    """Multi-base tokens (3-mers, plus single letters at the end of a record) are coded and restored too."""
    model_dir = kmer_model_dir
    records = [("k1", soft_masked(random_dna(200, np.random.default_rng(4)), np.random.default_rng(4))),
               ("k2", "ACGTANNNNAC"), ("k3", "")]
    source = write_fasta_records(tmp_path / "in.fa", records)
    compress_fasta(model_dir, source, tmp_path / "x.blm", FAST)
    decompress(model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == source.read_bytes()


def test_compression_is_deterministic(tmp_path, tiny_model_dir, coding_model):
    source = write_fasta_records(tmp_path / "in.fa", dataset("random") + dataset("n_runs"))
    compress_fasta(tiny_model_dir, source, tmp_path / "a.blm", FAST, coding=coding_model)
    compress_fasta(tiny_model_dir, source, tmp_path / "b.blm", FAST)  # fresh model load
    assert (tmp_path / "a.blm").read_bytes() == (tmp_path / "b.blm").read_bytes()


@pytest.fixture
def compressed(tmp_path, tiny_model_dir, coding_model):
    source = write_fasta_records(tmp_path / "in.fa", dataset("random"))
    compress_fasta(tiny_model_dir, source, tmp_path / "x.blm", FAST, coding=coding_model)
    return tmp_path / "x.blm"


def test_corrupted_container_is_detected(compressed, tmp_path, tiny_model_dir, coding_model):
    data = bytearray(compressed.read_bytes())
    data[len(data) // 2] ^= 0x10
    compressed.write_bytes(bytes(data))
    with pytest.raises(ContainerError, match="checksum mismatch: the file is corrupted"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa", coding=coding_model)
    assert not (tmp_path / "out.fa").exists()


def test_truncated_and_foreign_files_are_refused(compressed, tmp_path, tiny_model_dir):
    data = compressed.read_bytes()
    compressed.write_bytes(data[:-10])
    with pytest.raises(ContainerError, match="checksum mismatch"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa")
    (tmp_path / "plain.fa").write_text(">a\nACGT\n")
    with pytest.raises(ContainerError, match="not a bioLM compressed file"):
        decompress(tiny_model_dir, tmp_path / "plain.fa", tmp_path / "out.fa")


def test_content_checksum_catches_a_different_decoding(compressed, tmp_path, tiny_model_dir, coding_model):
    """A payload changed with a recomputed file checksum (as if decoded on other hardware) fails the
    content sha256 after decoding, and no output is left behind."""
    import hashlib

    data = bytearray(compressed.read_bytes()[:-DIGEST_SIZE])
    data[-2 * DIGEST_SIZE - 5] ^= 0xFF  # a byte of the last record's payload
    compressed.write_bytes(bytes(data) + hashlib.sha256(data).digest())
    with pytest.raises(ContainerError, match="decoded content does not match the stored sha256"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa", coding=coding_model)
    assert not (tmp_path / "out.fa").exists()
    assert not (tmp_path / "out.fa.partial").exists()


def test_wrong_model_is_refused(compressed, tmp_path, other_model_dir):
    with pytest.raises(ModelMismatchError, match="was compressed with model .* decompress with the same model"):
        decompress(other_model_dir, compressed, tmp_path / "out.fa")


def test_missing_model_files_are_a_clear_error(compressed, tmp_path):
    with pytest.raises(ModelDirectoryError, match=r"not a bioLM model directory \(missing \*\.safetensors"):
        decompress(tmp_path, compressed, tmp_path / "out.fa")


def test_fastq_is_refused(tmp_path, tiny_model_dir, coding_model):
    (tmp_path / "reads.fq").write_text("@r1\nACGT\n+\nIIII\n")
    with pytest.raises(InputFormatError, match="codes FASTA only"):
        compress_fasta(tiny_model_dir, tmp_path / "reads.fq", tmp_path / "x.blm", coding=coding_model)
    assert not (tmp_path / "x.blm").exists()
