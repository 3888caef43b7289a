"""The `biolm` entry point: every subcommand registers, and bioLM errors print without a traceback."""

from __future__ import annotations

import subprocess
import sys

from bioLM.cli import COMMANDS, build_parser, main


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    help_text = parser.format_help()
    for name in COMMANDS:
        assert name.replace("_", "-") in help_text


def test_bioLM_error_is_one_line_without_traceback(tmp_path, capsys):
    missing = tmp_path / "nope.fa"
    code = main(["info", str(missing)])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.fa" in err
    assert "Traceback" not in err


def test_console_script_runs_version():
    result = subprocess.run([sys.executable, "-m", "bioLM.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "bioLM" in result.stdout
