"""Bad inputs through the real CLI: exit code 2, no traceback, a message naming the file (and the line or
record where there is one), and nothing written: the folder of the run holds exactly what it held before.

One row of ``CASES`` per class of bad input and per subcommand that reads files. Rows run in-process
(``bioLM.cli.main``); ``test_real_cli_subprocess`` runs a few of them through ``python -m bioLM.cli``.

Unreadable files (no read permission) are simulated in their own tests below: the tests may run as root.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bioLM.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO_ROOT / "recipes" / "dna-char-tiny.yaml"
LINE = ("ACGT" * 15 + "\n").encode()  # 61 bytes
LATE_LINES = 1200  # > 64 KiB of sequence before the bad byte: past what sniff() looks at


def _late_nul() -> bytes:
    """A two-record FASTA with one NUL byte on line 1203 (past the first 64 KiB)."""
    body = LINE * LATE_LINES
    return b">a\n" + body + b">b\nACGTAC\x00GT\n"


def _truncated_gzip() -> bytes:
    """The first half of a gzip-compressed random FASTA (cut inside the stream)."""
    import numpy as np

    letters = np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(0).integers(0, 4, 60_000)].tobytes()
    data = gzip.compress(b">r\n" + b"\n".join(letters[i:i + 60] for i in range(0, len(letters), 60)) + b"\n")
    return data[: len(data) // 2]


@dataclass
class Case:
    """``argv(files)`` -> CLI arguments; ``expect``: fragments the error message must hold."""

    id: str
    argv: Callable[[dict[str, Path]], list[str]]
    expect: list[str]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random bioLM model with a DNA char tokenizer (outside the folders the cases check)."""
    import torch

    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    directory = tmp_path_factory.mktemp("model")
    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(0)
    BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=32, n_embd=32)).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.fixture
def files(tmp_path, model_dir) -> dict[str, Path]:
    """Every bad (and a few good) input files of the table, under ``tmp_path / "in"``."""
    import pysam
    import torch

    folder = tmp_path / "in"
    folder.mkdir()
    out = tmp_path / "out"
    out.mkdir()

    def write(name: str, data: bytes | str) -> Path:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    paths = {
        "model": model_dir, "out": out,
        "nul.fa": write("nul.fa", _late_nul()),
        "nul.fa.gz": write("nul.fa.gz", gzip.compress(_late_nul())),
        "ctrl.fa": write("ctrl.fa", ">a\x01b\nACGT\n"),
        "protein.fa": write("protein.fa", ">p1\nMKVLEFQWYHHKLMNPQRST\n>p2\nMKVLAAAQQQEEEFFF\n"),
        "headers.fa": write("headers.fa", ">a\n>b\n"),
        "binary": write("binary.bin", bytes(range(256)) * 4),
        "old.blm": write("old.blm", b"\x89BLMC\r\n\x1a" + struct.pack("<HI", 2, 0) + bytes(100)),  # format 2
        "truncated.fa.gz": write("truncated.fa.gz", _truncated_gzip()),
        "existing": write("existing.txt", "I am a file\n"),
        "ref.fa": write("ref.fa", ">c1\n" + "ACGT" * 50 + "\n"),
        "regions.bed": write("regions.bed", "c1\t0\t10\tok\nc1\t150\t300\tpast_end\n"),
        "suite_boot.yaml": write("suite_boot.yaml", "name: s\nbootstrap: -3\nevaluators: []\nbaselines: [kmer-4]\n"
                                                   "tasks: [{name: t, path: gue}]\n"),
    }
    pysam.faidx(str(paths["ref.fa"]))
    gue = folder / "gue"
    gue.mkdir()
    (gue / "train.csv").write_text("sequence,label\nACGTACGT,0\nGGCCGGCC,1\n")
    (gue / "dev.csv").write_text("sequence,label\nACGAACGA,1\n")
    (gue / "test.csv").write_text("sequence,label\nCCCCAAAA,0\nCCGGCCGG,2\n")
    paths["gue"] = gue
    good = folder / "gue_good"
    good.mkdir()
    for name in ("train", "dev", "test"):
        (good / f"{name}.csv").write_text("sequence,label\nACGTACGT,0\nGGCCGGCC,1\n")
    paths["gue_good"] = good
    run = tmp_path / "in" / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": _Evil(), "global_step": 3}, run / "checkpoints" / "last.ckpt")
    with open(folder / "evil.pkl", "wb") as handle:  # the same in a plain (legacy) pickle
        pickle.dump({"state_dict": _Evil()}, handle)
    paths["evil.pkl"] = folder / "evil.pkl"
    evil_model = folder / "evil_model"  # a model directory whose pickled weights run code when unpickled
    evil_model.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (evil_model / name).write_bytes((model_dir / name).read_bytes())
    torch.save({"weights": _Evil()}, evil_model / "pytorch_model.bin")
    paths["evil_model"] = evil_model
    paths["wt.fa"] = write("wt.fa", ">wt\nMKVLAAGIVG\n")
    paths["mutations.csv"] = write("mutations.csv", "mutant,fitness\nK2A,0.5\n,0.1\nV3A,0.2\n")
    paths["past_end.vcf"] = write("past_end.vcf", "##fileformat=VCFv4.2\n##contig=<ID=c1,length=200>\n"
                                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nc1\t250\t.\tA\tG\t.\t.\t.\n")
    paths["ok.vcf"] = write("ok.vcf", "##fileformat=VCFv4.2\n##contig=<ID=c1,length=200>\n"
                            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nc1\t5\t.\tA\tG\t.\t.\t.\n")
    paths["evil_run"] = run
    return paths


def _pretrain(f: dict[str, Path], *overrides: str) -> list[str]:
    return ["pretrain", str(TINY_RECIPE), f"trainer.out_dir={f['out'] / 'run'}", *overrides]


CASES = [
    # binary content anywhere in a FASTA, named by line (plain and gzip; header control bytes)
    Case("info-nul-late", lambda f: ["info", str(f["nul.fa"])], ["nul.fa", "line 1203", "NUL"]),
    Case("info-nul-late-gzip", lambda f: ["info", str(f["nul.fa.gz"])], ["nul.fa.gz", "line 1203", "NUL"]),
    Case("info-control-header", lambda f: ["info", str(f["ctrl.fa"])], ["ctrl.fa", "line 1", "control byte"]),
    Case("prepare-nul", lambda f: ["prepare", str(f["nul.fa"]), "--tokenizer", "char", "--out", str(f["out"] / "ds")],
         ["nul.fa", "line 1203"]),
    Case("info-truncated-gzip", lambda f: ["info", str(f["truncated.fa.gz"])],
         ["truncated.fa.gz", "truncated or corrupt compressed data after line"]),
    Case("prepare-wrong-alphabet", lambda f: ["prepare", str(f["protein.fa"]), "--tokenizer", "char", "--out",
                                              str(f["out"] / "ds")], ["protein.fa", "line 2", "record 'p1'", "'L'"]),
    Case("bits-nul", lambda f: ["bits", "--model", str(f["model"]), str(f["nul.fa"])], ["nul.fa", "line 1203"]),
    Case("compress-nul", lambda f: ["compress", "--model", str(f["model"]), str(f["nul.fa"]), str(f["out"] / "x.blm")],
         ["nul.fa", "line 1203"]),
    Case("embed-nul", lambda f: ["embed", "--model", str(f["model"]), "--out", str(f["out"] / "e.npz"), str(f["nul.fa"])],
         ["nul.fa", "line 1203"]),
    # regions past the contig end: file and line, no Python-only advice
    Case("embed-bed-out-of-range",
         lambda f: ["embed", "--model", str(f["model"]), "--out", str(f["out"] / "e.npz"), "--reference",
                    str(f["ref.fa"]), "--regions", str(f["regions.bed"])],
         ["regions.bed", "line 2", "past the end of contig 'c1'"]),
    # tokenizer: wrong alphabet, empty corpus, --out an existing file
    Case("tokenizer-wrong-alphabet",
         lambda f: ["tokenizer", "train", "--kind", "bpe", "--alphabet", "dna", "--vocab-size", "64",
                    str(f["protein.fa"]), "--out", str(f["out"] / "tok")], ["protein.fa", "--alphabet protein"]),
    Case("tokenizer-headers-only",
         lambda f: ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "64", str(f["headers.fa"]),
                    "--out", str(f["out"] / "tok")], ["headers.fa", "no sequence letters"]),
    Case("tokenizer-out-is-file",
         lambda f: ["tokenizer", "train", "--kind", "char", "--out", str(f["existing"])], ["existing.txt", "existing file"]),
    # finetune: a test label never seen in training; --out an existing file (both before any model loads)
    Case("finetune-unseen-label",
         lambda f: ["finetune", "--model", str(f["model"]), "--task", str(f["gue"]), "--out", str(f["out"] / "ft")],
         ["test.csv", "line 3", "label '2' never occurs in the training split"]),
    Case("finetune-out-is-file",
         lambda f: ["finetune", "--model", str(f["model"]), "--task", str(f["gue_good"]), "--out",
                    str(f["existing"])], ["existing.txt"]),
    # pretrain: values out of range caught before any preparation, binary recipe, malicious checkpoint
    Case("pretrain-max-steps", lambda f: _pretrain(f, "trainer.max_steps=-5"), ["dna-char-tiny.yaml", "trainer.max_steps"]),
    Case("pretrain-negative-lr", lambda f: _pretrain(f, "optim.lr=-1"), ["dna-char-tiny.yaml", "optim.lr = -1"]),
    Case("pretrain-binary-recipe", lambda f: ["pretrain", str(f["binary"])], ["binary.bin", "line 2", "binary data"]),
    Case("pretrain-malicious-checkpoint",
         lambda f: ["pretrain", str(TINY_RECIPE), f"trainer.out_dir={f['evil_run']}", "--resume"],
         ["last.ckpt", "cannot read checkpoint safely (UnpicklingError", "move it away"]),
    Case("export-malicious-pickle", lambda f: ["export", str(f["evil.pkl"]), str(f["out"] / "exported")],
         ["evil.pkl", "cannot read checkpoint safely (UnpicklingError"]),
    # benchmark: binary suite; bootstrap < 1 named by the suite file before any task loads
    Case("benchmark-binary-suite", lambda f: ["benchmark", str(f["binary"]), "--data-dir", str(f["out"]), "--out",
                                              str(f["out"] / "bench")], ["binary.bin", "binary data"]),
    Case("benchmark-negative-bootstrap",
         lambda f: ["benchmark", str(f["suite_boot.yaml"]), "--data-dir", str(f["out"] / "missing"), "--out",
                    str(f["out"] / "bench")], ["suite_boot.yaml", "bootstrap=-3"]),
    # other readers of files
    Case("decompress-binary", lambda f: ["decompress", "--model", str(f["model"]), str(f["binary"]),
                                         str(f["out"] / "d.fa")], ["binary.bin"]),
    Case("decompress-older-format", lambda f: ["decompress", "--model", str(f["model"]), str(f["old.blm"]),
                                               str(f["out"] / "d.fa")], ["old.blm", "format version 2"]),
    Case("score-variants-binary-vcf",
         lambda f: ["score-variants", "--model", str(f["model"]), "--reference", str(f["ref.fa"]), "--vcf",
                    str(f["binary"]), "--out", str(f["out"] / "v.vcf")], ["binary.bin"]),
    Case("generate-model-is-file", lambda f: ["generate", "--model", str(f["binary"])], ["binary.bin"]),
    # models: pickled weights that would run code are refused, never unpickled
    Case("embed-pickled-model", lambda f: ["embed", "--model", str(f["evil_model"]), "--out", str(f["out"] / "e.npz"),
                                           str(f["ref.fa"])], ["evil_model", "pytorch_model.bin"]),
    # scoring: an empty mutant cell, a position past the contig end, nothing scored, a bad precision
    Case("score-mutations-empty-cell",
         lambda f: ["score-mutations", "--model", str(f["model"]), "--fasta", str(f["wt.fa"]), "--mutations",
                    str(f["mutations.csv"]), "--out", str(f["out"] / "m.csv")], ["mutations.csv", "line 3"]),
    Case("score-variants-past-contig-end",
         lambda f: ["score-variants", "--model", str(f["model"]), "--reference", str(f["ref.fa"]), "--vcf",
                    str(f["past_end.vcf"]), "--out", str(f["out"] / "v.vcf")], ["past_end.vcf", "past the end"]),
    Case("score-variants-nothing-scored",
         lambda f: ["score-variants", "--model", str(f["model"]), "--reference", str(f["ref.fa"]), "--vcf",
                    str(f["ok.vcf"]), "--window", "5000", "--out", str(f["out"] / "v.vcf")],
         ["ok.vcf", "no variant was scored"]),
    # compress / decompress: an output that is a directory or whose folder is missing (nothing left behind)
    Case("compress-out-is-directory",
         lambda f: ["compress", "--model", str(f["model"]), str(f["ref.fa"]), str(f["out"])], ["out", "directory"]),
    Case("compress-out-parent-missing",
         lambda f: ["compress", "--model", str(f["model"]), str(f["ref.fa"]), str(f["out"] / "no" / "x.blm")],
         ["no"]),
    Case("finetune-bad-precision",
         lambda f: ["finetune", "--model", str(f["model"]), "--task", str(f["gue_good"]), "--out",
                    str(f["out"] / "ft"), "--precision", "banana"], ["banana"]),
]


def _snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_clean_error(case, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written relative to the working directory shows up in the snapshot
    before = _snapshot(tmp_path)
    try:
        code = main(case.argv(files))
    except SystemExit as usage_error:  # argparse's own check of a flag's value (also exit code 2)
        code = usage_error.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err + captured.out
    message = captured.err.strip().splitlines()[-1]
    assert message.startswith("biolm ") and ": error: " in message
    for fragment in case.expect:
        assert fragment in message, message
    assert _snapshot(tmp_path) == before  # no output, no partial file, no shard folder, no PWNED
    assert not captured.out.strip()


def test_unreadable_fasta_is_named_before_any_work(files, tmp_path, capsys, monkeypatch):
    """No read permission (simulated: the tests may run as root, who reads anything)."""
    import builtins

    import bioLM.data.prepare as prepare

    real_open = builtins.open

    def guarded(path, *args, **kwargs):
        if Path(path) == files["ref.fa"]:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(prepare, "open", guarded, raising=False)
    before = _snapshot(tmp_path)
    code = main(["prepare", str(files["ref.fa"]), "--tokenizer", "char", "--out", str(files["out"] / "ds")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "ref.fa: cannot read the file (Permission denied)" in err
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_unreadable_fasta_real_permissions(files, capsys):
    files["ref.fa"].chmod(0)
    try:
        assert main(["prepare", str(files["ref.fa"]), "--tokenizer", "char", "--out", str(files["out"] / "ds")]) == 2
    finally:
        files["ref.fa"].chmod(0o644)
    assert "Permission denied" in capsys.readouterr().err


def test_uncaught_os_error_naming_a_file_is_a_clean_error(files, capsys, monkeypatch):
    """The CLI's safety net: an OSError with a file name prints as an error, exit 2."""
    import bioLM.io.info as info

    def broken(path, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(info, "file_info", broken)
    assert main(["info", str(files["ref.fa"])]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ref.fa: Permission denied" in err


def test_benchmark_model_option_needs_no_model_section(files):
    from bioLM.benchmark import Suite

    suite_path = files["suite_boot.yaml"]
    suite_path.write_text("name: s\nevaluators: [embedding-lr]\nbaselines: []\ntasks: [{name: t, path: gue}]\n")
    with pytest.raises(Exception, match="'model' needs 'path'"):
        Suite.from_yaml(suite_path)
    suite = Suite.from_yaml(suite_path, model=files["model"])
    assert suite.model.path == str(files["model"].resolve()) and suite.model.recipe is None


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("info-nul-late-gzip", "pretrain-max-steps",
                                                                 "pretrain-binary-recipe")], ids=lambda c: c.id)
def test_real_cli_subprocess(case, files, tmp_path):
    before = _snapshot(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "bioLM.cli", *case.argv(files)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert all(fragment in result.stderr for fragment in case.expect), result.stderr
    assert _snapshot(tmp_path) == before
