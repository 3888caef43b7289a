"""compress_fasta / decompress with a tiny model: byte-exact files, 2-bit floor, checks, adaptive mode."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from bioLM.compression import (
    AdaptiveConfig,
    CodecConfig,
    ContainerError,
    ModelMismatchError,
    compress_fasta,
    decompress,
)
from bioLM.compression.container import DIGEST_SIZE
from bioLM.errors import ConfigError, InputFormatError, ModelDirectoryError
from bioLM.synthetic import markov_dna, random_dna

FAST = CodecConfig(lanes=8, min_lane_tokens=48, block_steps=32)
HEADER_BYTES = 700  # JSON header, section sizes, two sha256 digests, raw-xz side section


def soft_masked(sequence: str, rng: np.random.Generator) -> str:
    chars = list(sequence)
    for start in rng.integers(0, len(chars), size=4).tolist():
        for i in range(start, min(len(chars), start + int(rng.integers(1, 60)))):
            chars[i] = chars[i].lower()
    return "".join(chars)


def layouts() -> dict[str, bytes]:
    rng = np.random.default_rng(11)
    seq = random_dna(700, rng)
    wrap = lambda s, w, eol="\n": eol.join(s[i:i + w] for i in range(0, len(s), w))  # noqa: E731
    return {
        "wrapped_70": f">r1 some description\n{wrap(seq, 70)}\n>r2\n{wrap(seq[:61], 70)}\n".encode(),
        "irregular": f">a\n{seq[:50]}\n{seq[50:53]}\n{seq[53:300]}\n\n\n>b\t tab header  \n{seq[:9]}\n".encode(),
        "unwrapped_no_final_newline": f">u\n{seq}\n>v\n{seq[:100]}".encode(),
        "crlf_blank_lines": f"\r\n>c\r\n{wrap(seq, 60, chr(13) + chr(10))}\r\n\r\n>d\r\n\r\n".encode(),
        "soft_mask_iupac_n": (">m\n" + wrap(soft_masked(seq, rng), 60) + "\n>n\n" + "N" * 130
                              + "acgtRYKMnn-U*" + random_dna(100, rng) + "\n>e1\n>e2 empty\n").encode(),
        "utf8_header": ">é α ünïcode\nACGT\n".encode(),
        "no_bases": b">only\n>headers and Ns\nNNNN\nnnRY\n",
    }


@pytest.mark.parametrize("kind", list(layouts()))
def test_round_trip_is_byte_exact(kind, tmp_path, tiny_model_dir, coding_model):
    source = tmp_path / "in.fa"
    source.write_bytes(layouts()[kind])
    report = compress_fasta(tiny_model_dir, source, tmp_path / "x.blm", FAST, coding=coding_model)
    restored = decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert (tmp_path / "out.fa").read_bytes() == source.read_bytes()
    assert restored.records == report.records == source.read_bytes().count(b">")
    assert restored.bases == report.bases
    assert not list(tmp_path.glob(".*.tmp*"))


def test_gzip_input_restores_the_uncompressed_bytes(tmp_path, tiny_model_dir, coding_model):
    plain = layouts()["wrapped_70"]
    (tmp_path / "in.fa.gz").write_bytes(gzip.compress(plain))
    compress_fasta(tiny_model_dir, tmp_path / "in.fa.gz", tmp_path / "x.blm", FAST, coding=coding_model)
    decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert (tmp_path / "out.fa").read_bytes() == plain


def test_never_worse_than_two_bits(tmp_path, tiny_model_dir, coding_model):
    """A random-init model spends more than 2 bits on random DNA: the blocks fall back to 2-bit."""
    sequence = random_dna(8000, np.random.default_rng(5))
    (tmp_path / "in.fa").write_text(f">r\n{sequence}\n")
    report = compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST, coding=coding_model)
    assert report.file_bytes <= 2 * 8000 / 8 + HEADER_BYTES
    assert report.payload_bits_per_base <= 2.0 + 0.01
    assert report.fallback_blocks > 0.5
    decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_trained_model_codes_below_two_bits(tmp_path, trained_model_dir):
    sequence = markov_dna(30_000, np.random.default_rng(7), order=2)[-8000:]
    (tmp_path / "in.fa").write_text(f">m\n{sequence}\n")
    report = compress_fasta(trained_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST)
    assert report.payload_bits_per_base < 1.95 and report.fallback_blocks < 0.5
    assert report.with_model_bits_per_base > report.bits_per_base  # the weights are counted
    decompress(trained_model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_compression_is_deterministic(tmp_path, tiny_model_dir, coding_model):
    (tmp_path / "in.fa").write_bytes(layouts()["soft_mask_iupac_n"])
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "a.blm", FAST, coding=coding_model)
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "b.blm", FAST)  # fresh model load
    assert (tmp_path / "a.blm").read_bytes() == (tmp_path / "b.blm").read_bytes()


def test_kmer_tokenizer_round_trip(tmp_path, kmer_model_dir):
    (tmp_path / "in.fa").write_bytes(layouts()["soft_mask_iupac_n"])
    compress_fasta(kmer_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST)
    decompress(kmer_model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_adaptive_from_random_init_learns_and_replays(tmp_path):
    sequence = markov_dna(8000, np.random.default_rng(9), order=2)
    (tmp_path / "in.fa").write_text(f">m\n{sequence}\n")
    adaptive = AdaptiveConfig(context=32, lr=1e-2, micro_lanes=4)
    config = CodecConfig(lanes=4, min_lane_tokens=64, block_steps=32)
    report = compress_fasta(None, tmp_path / "in.fa", tmp_path / "x.blm", config, adaptive=adaptive)
    assert report.model_bytes == 0 and report.payload_bits_per_base < 1.97  # learned the order-2 source
    decompress(None, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


@pytest.mark.parametrize("adaptive", [None, AdaptiveConfig(context=32, lr=1e-2, micro_lanes=4)])
def test_streams_code_the_same_file_in_workers_or_one_after_another(tmp_path, tiny_model_dir, adaptive,
                                                                    monkeypatch, caplog):
    """--threads 2 cuts the bases into two independent streams: the same bytes whether they run in two forked
    workers or here one after another (each adaptive stream trains its own copy), restored byte-exact."""
    from bioLM.compression import streams
    from bioLM.compression.container import ContainerReader

    (tmp_path / "in.fa").write_text(f">m\n{markov_dna(6000, np.random.default_rng(4), order=2)}\n>n\nACGT\n")
    config = CodecConfig(lanes=8, min_lane_tokens=32, block_steps=32, threads=2)
    model = None if adaptive else tiny_model_dir
    compress_fasta(model, tmp_path / "in.fa", tmp_path / "two.blm", config, adaptive=adaptive)
    assert ContainerReader(tmp_path / "two.blm").header["streams"] == [3002, 3002]
    monkeypatch.setattr(streams, "available_cores", lambda: 1)
    with caplog.at_level("INFO", logger="bioLM.compression.codec"):
        compress_fasta(model, tmp_path / "in.fa", tmp_path / "here.blm", config, adaptive=adaptive)
    assert (tmp_path / "here.blm").read_bytes() == (tmp_path / "two.blm").read_bytes()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("coding stream 2/2")]
    tenths = [int(line.split()[3].rstrip("%")) // 10 for line in lines]
    assert len(tenths) >= 8 and tenths == sorted(set(tenths)) and "of 3,002 symbols" in lines[0]  # one per tenth
    decompress(model, tmp_path / "two.blm", tmp_path / "here.fa")
    monkeypatch.undo()
    decompress(model, tmp_path / "two.blm", tmp_path / "two.fa")
    assert (tmp_path / "here.fa").read_bytes() == (tmp_path / "two.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_copy_model_finds_repeats_in_the_other_stream(tmp_path, tiny_model_dir):
    """The second stream repeats the first (shifted by half a lane): only the copy model's shared view of the
    other stream's coded blocks can make it cheap (a random-init network gives ~2 bits per base)."""
    from bioLM.compression.container import ContainerReader

    first = random_dna(3000, np.random.default_rng(8))
    (tmp_path / "in.fa").write_text(f">r\n{first}{first[375:]}{first[:375]}\n")
    config = CodecConfig(lanes=8, min_lane_tokens=32, block_steps=32, threads=2)
    report = compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", config)
    assert ContainerReader(tmp_path / "x.blm").header["streams"] == [3000, 3000]
    assert report.ideal_bits / report.bases < 1.6
    decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_adaptive_refuses_another_runtime(tmp_path, monkeypatch):
    from bioLM.compression import adaptive

    (tmp_path / "in.fa").write_text(f">m\n{random_dna(300, np.random.default_rng(1))}\n")
    compress_fasta(None, tmp_path / "in.fa", tmp_path / "x.blm", FAST, adaptive=AdaptiveConfig(context=32))
    monkeypatch.setattr(adaptive, "runtime", lambda: {"torch": "0.0", "cpu_capability": "AVX2"})
    with pytest.raises(ContainerError, match="adaptive file made with torch .* would not replay"):
        decompress(None, tmp_path / "x.blm", tmp_path / "out.fa")
    assert not (tmp_path / "out.fa").exists()


@pytest.mark.parametrize("target", ["dir", "missing/x.blm"])
def test_bad_output_path_is_refused_before_work(tmp_path, tiny_model_dir, coding_model, target):
    (tmp_path / "in.fa").write_text(">a\nACGT\n")
    (tmp_path / "dir").mkdir()
    with pytest.raises(ConfigError, match="is a directory|does not exist"):
        compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / target, FAST, coding=coding_model)
    assert not list(tmp_path.rglob(".*.tmp*"))


def test_binary_input_is_refused_before_anything_is_written(tmp_path, tiny_model_dir, coding_model):
    data = bytearray(b">a\n" + b"ACGTACGTAC\n" * 10_000)
    data[90_000] = 0  # past the first 64 KiB: line 2 + (90_000 - 3) // 11
    (tmp_path / "in.fa").write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match=r"line 8183: binary data"):
        compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST, coding=coding_model)
    assert not (tmp_path / "x.blm").exists() and not list(tmp_path.glob(".*.tmp*"))


@pytest.fixture
def compressed(tmp_path, tiny_model_dir, coding_model):
    (tmp_path / "in.fa").write_bytes(layouts()["wrapped_70"])
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST, coding=coding_model)
    return tmp_path / "x.blm"


def test_corrupted_container_is_detected(compressed, tmp_path, tiny_model_dir, coding_model):
    data = bytearray(compressed.read_bytes())
    data[len(data) // 2] ^= 0x10
    compressed.write_bytes(bytes(data))
    with pytest.raises(ContainerError, match="checksum mismatch: the file is corrupted"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa", coding=coding_model)
    assert not (tmp_path / "out.fa").exists()


def test_truncated_and_foreign_files_are_refused(compressed, tmp_path, tiny_model_dir):
    compressed.write_bytes(compressed.read_bytes()[:-10])
    with pytest.raises(ContainerError, match="checksum mismatch"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa")
    (tmp_path / "plain.fa").write_text(">a\nACGT\n")
    with pytest.raises(ContainerError, match="not a bioLM compressed file"):
        decompress(tiny_model_dir, tmp_path / "plain.fa", tmp_path / "out.fa")


def test_content_checksum_catches_a_different_decoding(compressed, tmp_path, tiny_model_dir, coding_model):
    """A payload changed with a recomputed file checksum (as if decoded on other hardware) fails the
    content sha256 after decoding, and no output is left behind."""
    from bioLM.compression.container import ContainerReader

    payload = ContainerReader(compressed).sections[2]
    data = bytearray(compressed.read_bytes()[:-DIGEST_SIZE])
    data[data.rfind(payload) + len(payload) // 3] ^= 0xFF  # a byte of the range-coded payload
    compressed.write_bytes(bytes(data) + hashlib.sha256(data).digest())
    with pytest.raises(ContainerError, match="decoded content does not match|do not fit the stored layout"):
        decompress(tiny_model_dir, compressed, tmp_path / "out.fa", coding=coding_model)
    assert not (tmp_path / "out.fa").exists() and not list(tmp_path.glob(".*.tmp*"))


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


def test_adaptive_from_a_model_needs_that_model(tmp_path, trained_model_dir, tiny_model_dir):
    (tmp_path / "in.fa").write_text(f">m\n{markov_dna(3000, np.random.default_rng(4), order=2)}\n")
    compress_fasta(trained_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST,
                   adaptive=AdaptiveConfig(micro_lanes=4))
    with pytest.raises(ModelMismatchError):
        decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    decompress(trained_model_dir, tmp_path / "x.blm", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()


def test_a_masked_lm_is_refused(tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    from bioLM.compression import CodingModel
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="dna")
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16)
    BertForMaskedLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="compress needs a causal language model.*masked LM"):
        CodingModel(tmp_path)


def test_bf16_round_trip_and_refusal_on_another_cpu(tmp_path, tiny_model_dir, coding_model, monkeypatch):
    from bioLM.compression import adaptive
    from bioLM.compression.container import ContainerReader

    (tmp_path / "in.fa").write_text(f">m\n{random_dna(3000, np.random.default_rng(4))}\n")
    config = CodecConfig(lanes=8, min_lane_tokens=48, block_steps=32, precision="bf16")
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", config, coding=coding_model)
    assert ContainerReader(tmp_path / "x.blm").header["coding"]["precision"] == "bf16"
    decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert (tmp_path / "out.fa").read_bytes() == (tmp_path / "in.fa").read_bytes()
    here = adaptive.runtime()
    monkeypatch.setattr(adaptive, "runtime", lambda: {**here, "cpu_bf16": ["something_else"]})
    with pytest.raises(ContainerError, match="bf16-coded file made with cpu_bf16 .* would not replay"):
        decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out2.fa", coding=coding_model)
    assert not (tmp_path / "out2.fa").exists()


def test_precision_auto_is_fp32_without_bf16_units(tmp_path, tiny_model_dir, coding_model, monkeypatch):
    from bioLM import hardware
    from bioLM.compression.container import ContainerReader

    monkeypatch.setattr(hardware, "fast_bf16", lambda device="cpu": False)
    assert coding_model.precision("auto") == "fp32" and coding_model.precision("bf16") == "bf16"
    (tmp_path / "in.fa").write_text(">a\nACGTTGCA\n")
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST, coding=coding_model)
    assert ContainerReader(tmp_path / "x.blm").header["coding"]["precision"] == "fp32"


def test_file_of_another_stepper_version_is_refused(tmp_path, tiny_model_dir, coding_model, monkeypatch):
    from bioLM.compression import static_stepper

    (tmp_path / "in.fa").write_text(">a\nACGTTGCAAC\n")
    compress_fasta(tiny_model_dir, tmp_path / "in.fa", tmp_path / "x.blm", FAST, coding=coding_model)
    made = f"static-{static_stepper.STEPPER_VERSION}"
    monkeypatch.setattr(static_stepper, "STEPPER_VERSION", 99)
    with pytest.raises(ContainerError, match=f"made with the '{made}' coder; .* 'static-99'"):
        decompress(tiny_model_dir, tmp_path / "x.blm", tmp_path / "out.fa", coding=coding_model)
    assert not (tmp_path / "out.fa").exists()
