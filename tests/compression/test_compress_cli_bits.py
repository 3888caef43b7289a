"""`biolm compress` / `decompress` / `bits`, theoretical bits, and the classic baselines."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from dataclasses import replace

import numpy as np
import pytest

from bioLM.cli import main
from bioLM.compression import CodecConfig, classic_bits_per_base
from bioLM.compression.bits import file_bits
from bioLM.compression.stepper import lane_sizes, segments
from bioLM.synthetic import random_dna, write_fasta_records


def test_classic_baselines_match_the_modules():
    bases = ("ACGT" * 500 + "GATTACA" * 100).encode()
    result = classic_bits_per_base(bases)
    assert result["2bit"] == 2.0
    assert result["gzip-9"] == 8 * len(gzip.compress(bases, 9, mtime=0)) / len(bases)
    assert result["bzip2-9"] == 8 * len(bz2.compress(bases, 9)) / len(bases)
    assert result["xz-9e"] == 8 * len(lzma.compress(bases, preset=9 | lzma.PRESET_EXTREME)) / len(bases)
    assert result["xz-9e"] < 1.0  # repetitive input compresses
    assert classic_bits_per_base(b"")["gzip-9"] == 0.0


def test_lane_sizes_and_context_segments():
    assert lane_sizes(10, 4, 3) == [4, 3, 3]
    assert lane_sizes(5, 8, 100) == [5]
    assert sum(lane_sizes(100_003, 50, 1024)) == 100_003
    # context 8, keep 4: first window 8 predictions, then windows of length 8 with 5 new predictions
    assert segments(20, 8) == [(0, 0, 8), (5, 8, 13), (10, 13, 18), (15, 18, 20)]
    assert segments(0, 8) == []


def test_file_bits_counts_only_acgt_and_matches_the_coder(tmp_path, coding_model, tiny_model_dir):
    from bioLM.compression import compress_fasta

    records = [("a", random_dna(150, np.random.default_rng(1)) + "NNNNNRYacgtAC")]
    source = write_fasta_records(tmp_path / "in.fa", records)
    config = CodecConfig(lanes=2, min_lane_tokens=40, match_order=0, precision="fp32")  # the network alone
    from bioLM.model.loading import load

    result = file_bits(load(tiny_model_dir, device="cpu", precision="fp32"), source, config)
    assert (result.records, result.letters, result.bases) == (1, 163, 156)
    assert result.baselines["2bit"] == 2.0
    report = compress_fasta(tiny_model_dir, source, tmp_path / "x.blm", config, coding=coding_model)
    assert report.model_bits == pytest.approx(result.bits, rel=1e-4)  # same contexts as the coder
    bf16 = compress_fasta(tiny_model_dir, source, tmp_path / "y.blm", replace(config, precision="bf16"),
                          coding=coding_model)
    assert bf16.model_bits == pytest.approx(result.bits, rel=1e-2)  # bf16 weights and cache: close, not equal


def test_cli_round_trip_and_bits(tmp_path, tiny_model_dir, capsys):
    source = write_fasta_records(tmp_path / "in.fa", [("x desc", random_dna(90, np.random.default_rng(2)))])
    assert main(["compress", "--model", str(tiny_model_dir), str(source), str(tmp_path / "x.blm")]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 1
    assert main(["decompress", "--model", str(tiny_model_dir), str(tmp_path / "x.blm"),
                 str(tmp_path / "out.fa")]) == 0
    capsys.readouterr()
    assert (tmp_path / "out.fa").read_bytes() == source.read_bytes()
    assert main(["bits", "--model", str(tiny_model_dir), "--json", str(source)]) == 0
    row = json.loads(capsys.readouterr().out)["files"][0]
    assert row["bases"] == 90 and set(row) >= {"bits_per_base", "gzip-9", "bzip2-9", "xz-9e", "2bit"}
    assert main(["bits", "--model", str(tiny_model_dir), str(source)]) == 0
    table = capsys.readouterr().out
    assert "xz-9e" in table.splitlines()[0] and "in.fa" in table


def test_cli_wrong_model_prints_an_error(tmp_path, tiny_model_dir, other_model_dir, capsys):
    source = write_fasta_records(tmp_path / "in.fa", [("x", "ACGTACGT")])
    main(["compress", "--model", str(tiny_model_dir), str(source), str(tmp_path / "x.blm")])
    capsys.readouterr()
    code = main(["decompress", "--model", str(other_model_dir), str(tmp_path / "x.blm"), str(tmp_path / "o.fa")])
    assert code == 2
    assert "was compressed with model" in capsys.readouterr().err


@pytest.mark.parametrize("adaptive", [False, True])
def test_cli_restores_an_irregular_file_cmp_identical(tmp_path, tiny_model_dir, capsys, adaptive):
    """Through the CLI, `cmp`: 70-column CRLF lines, an irregular record, no final newline."""
    import subprocess

    seq = random_dna(400, np.random.default_rng(3))
    data = (">a one\r\n" + "\r\n".join(seq[i:i + 70] for i in range(0, 400, 70)) + "\r\n\r\n>b\n"
            + seq[:33] + "\n" + seq[33:40].lower() + "NNN").encode()
    (tmp_path / "in.fa").write_bytes(data)
    model = ["--adaptive", "--adaptive-context", "32"] if adaptive else ["--model", str(tiny_model_dir)]
    assert main(["compress", *model, str(tmp_path / "in.fa"), str(tmp_path / "x.blm")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 2 and report["bases"] == 440 and "with_model_bits_per_base" in report
    back = [] if adaptive else ["--model", str(tiny_model_dir)]
    assert main(["decompress", *back, str(tmp_path / "x.blm"), str(tmp_path / "out.fa")]) == 0
    capsys.readouterr()
    assert subprocess.run(["cmp", str(tmp_path / "in.fa"), str(tmp_path / "out.fa")]).returncode == 0


def test_cli_binary_input_and_bad_output_exit_2(tmp_path, tiny_model_dir, capsys):
    (tmp_path / "bin.fa").write_bytes(b">a\nACGT\nAC\x00GT\n")
    assert main(["compress", "--model", str(tiny_model_dir), str(tmp_path / "bin.fa"), str(tmp_path / "x.blm")]) == 2
    assert "line 3: binary data" in capsys.readouterr().err
    (tmp_path / "ok.fa").write_bytes(b">a\nACGT\n")
    assert main(["compress", "--model", str(tiny_model_dir), str(tmp_path / "ok.fa"), str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["compress", str(tmp_path / "ok.fa"), str(tmp_path / "x.blm")]) == 2
    assert "--adaptive" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.blm*"))
