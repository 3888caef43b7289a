"""Bad input to score-mutations / score-variants: clear errors (exit 2, the file and line named), no output."""

from __future__ import annotations

import builtins

from bioLM.cli import main

WT = "MKTAYIAKQR"


def test_empty_mutant_cell_is_an_error_naming_the_line(tmp_path, random_protein_dir, capsys):
    csv = tmp_path / "m.csv"
    csv.write_text("mutant,fitness\nK2A,1\n,2\n")
    code = main(["score-mutations", "--model", str(random_protein_dir), "--sequence", WT, "--mutations", str(csv),
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "line 3: the mutation cell is empty" in err and "Traceback" not in err
    assert not (tmp_path / "m.scored.csv").exists()


def test_unreadable_mutations_csv_is_a_clear_error(tmp_path, random_protein_dir, capsys, monkeypatch):
    csv = tmp_path / "m.csv"
    csv.write_text("mutant\nK2A\n")
    real_open = builtins.open

    def no_permission(file, *args, **kwargs):
        if str(file) == str(csv):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_permission)  # tests run as root: chmod 000 would still be readable
    code = main(["score-mutations", "--model", str(random_protein_dir), "--sequence", WT, "--mutations", str(csv)])
    err = capsys.readouterr().err
    assert code == 2 and "m.csv: cannot read the mutations CSV (Permission denied)" in err
    assert "window" not in err  # score-mutations has no --window option to suggest


def test_too_long_for_the_context_suggests_nothing_score_mutations_lacks(tmp_path, random_protein_dir, capsys):
    csv = tmp_path / "m.csv"
    csv.write_text("mutant\nM1A\n")
    code = main(["score-mutations", "--model", str(random_protein_dir), "--sequence", "M" * 600, "--mutations",
                 str(csv), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "context" in err and "--window" not in err and "window" not in err
