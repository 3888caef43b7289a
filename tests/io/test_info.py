import json

import pytest

from bioLM.cli import main
from bioLM.io import file_info


def test_file_info_counts(write):
    path = write("a.fa", ">a\nACGTNNacgt\n>b\nGGKK\n>c\nAC\n")
    info = file_info(path)
    assert info["format"] == "fasta" and info["compression"] == "none" and info["records"] == 3
    assert (info["total_length"], info["min_length"], info["median_length"], info["max_length"]) == (16, 2, 4.0, 10)
    assert info["alphabet"] == "dna" and info["non_acgt"] == {"K": 2, "N": 2}
    assert info["soft_masked_fraction"] == pytest.approx(4 / 16)
    assert info["gc"] == pytest.approx(7 / 12)


def test_file_info_rna_and_protein(write):
    rna = file_info(write("r.fa", ">r\nUUGCA\n"))
    assert rna["alphabet"] == "rna" and rna["non_acgt"] == {} and rna["gc"] == pytest.approx(0.4)
    protein = file_info(write("p.fa", ">p\nMKLEFXACDGHU\n"))
    assert protein["alphabet"] == "protein" and protein["gc"] is None
    assert protein["non_canonical"] == {"U": 1, "X": 1} and protein["non_acgt"] is None


def test_file_info_iupac_rna_with_t_is_nucleotide(write):
    mixed = file_info(write("m.fa", ">m\nacgurykmacgtuu\n"))
    assert mixed["alphabet"] == "dna" and mixed["non_canonical"] == {"K": 1, "M": 1, "R": 1, "Y": 1}
    assert mixed["gc"] == pytest.approx(4 / 10)


def test_cli_table_json_and_errors(write, capsys):
    good = write("g.fa", ">a\nACGT\n>a\nGG\n")
    assert main(["info", str(good)]) == 2
    assert "duplicate record id 'a'" in capsys.readouterr().err
    assert main(["info", str(good), "--allow-duplicate-ids", "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["records"] == 2 and info["total_length"] == 6
    assert main(["info", str(good), "--allow-duplicate-ids"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["file", "format", "compression", "records"]
    assert table[1].split()[1:5] == ["fasta", "none", "2", "6"]
