from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from bioLM.cli import main
from bioLM.errors import AlphabetError, InputFormatError
from bioLM.model.loading import load as load_model
from bioLM.scoring.likelihood import log_likelihoods
from bioLM.scoring.mutations import Mutation, apply_mutations, parse_mutations, score_mutations, spearman

WT = "MSIQHFRVALIPFFAAFCLPVFAHPETLVKVKDAEDQLGARVGYIELDLNSGKILESFRP"


def test_parse_and_apply():
    assert parse_mutations("H5A", WT) == (Mutation("H", 5, "A"),)
    assert parse_mutations("M1A:s2d", WT) == (Mutation("M", 1, "A"), Mutation("S", 2, "D"))
    assert parse_mutations("WT", WT) == ()
    with pytest.raises(ValueError, match="empty"):  # issue 16: an empty cell is not the wild type
        parse_mutations("", WT)
    assert apply_mutations(WT, parse_mutations("M1A:S2D", WT)) == "AD" + WT[2:]


@pytest.mark.parametrize(("text", "message"), [
    ("A61V", r"position 61 is outside the wild-type sequence \(length 60"),
    ("M0A", "position 0 is outside"),
    ("A1V", "the wild type has 'M' at position 1, not 'A'"),
    ("M1J", "'J' is not an amino-acid letter"),
    ("M1A:M1C", "position 1 is mutated twice"),
    ("M1", "not of the form A23V"),
])
def test_bad_mutations(text, message):
    with pytest.raises(ValueError, match=message):
        parse_mutations(text, WT)


def write_csv(path, rows, columns=("mutant", "fitness")):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def test_scores_match_direct_log_likelihoods(tmp_path, random_protein_dir):
    rows = [("H5A", "0.5"), ("M1A:S2D", "-1.0"), ("WT", "1.0"), ("Q4K", ""), ("F6W", "nan"), ("V8E", "0.2")]
    path = write_csv(tmp_path / "mut.csv", rows)
    result = score_mutations(random_protein_dir, WT, path, tmp_path / "out.csv", fitness_column="fitness",
                             progress=False, device="cpu", precision="fp32")
    model, tokenizer = load_model(random_protein_dir, device="cpu", precision="fp32")
    sequences = [WT] + [apply_mutations(WT, parse_mutations(r[0], WT)) for r in rows]
    sums, _ = log_likelihoods(model, tokenizer, sequences)
    np.testing.assert_allclose(result.scores, sums[1:] - sums[0], atol=1e-4)
    assert result.scores[2] == 0.0
    out = list(csv.DictReader((tmp_path / "out.csv").read_text().splitlines()))
    assert [r["mutant"] for r in out] == [r[0] for r in rows] and list(out[0]) == ["mutant", "fitness",
                                                                                    "biolm_score", "biolm_score_rule"]
    assert {r["biolm_score_rule"] for r in out} == {"log-likelihood-ratio"}
    assert float(out[0]["biolm_score"]) == pytest.approx(result.scores[0], rel=1e-4)
    assert result.fitness_rows == 4  # empty and NaN fitness values skipped
    expected, n = spearman([result.scores[i] for i in (0, 1, 2, 5)], ["0.5", "-1.0", "1.0", "0.2"])
    assert result.spearman == pytest.approx(expected) and n == 4


def test_bad_rows_are_listed_before_scoring(tmp_path, random_protein_dir):
    path = write_csv(tmp_path / "mut.csv", [("H5A", "1"), ("A500V", "1"), ("A1V", "2")])
    with pytest.raises(InputFormatError, match=r"mut.csv: 2 row\(s\).*line 3: .*position 500.*line 4: .*'M'"):
        score_mutations(random_protein_dir, WT, path, tmp_path / "out.csv", device="cpu", precision="fp32")
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(InputFormatError, match="no column 'variant'; the columns are"):
        score_mutations(random_protein_dir, WT, path, None, mutation_column="variant", device="cpu", precision="fp32")
    with pytest.raises(AlphabetError, match="wild type"):
        score_mutations(random_protein_dir, WT + "1", path, None, device="cpu", precision="fp32")


def test_cli_on_the_blat_dms_file_format(tmp_path, random_protein_dir, shared_data, capsys):
    """The lead's real check, on the first rows of the real file and a tiny random model."""
    dms = shared_data / "variants" / "protein_dms"
    head = tmp_path / "blat_head.csv"
    head.write_text("".join((dms / "BLAT_ECOLX_Ranganathan2015.csv").read_text().splitlines(True)[:41]))
    shutil.copy(dms / "BLAT_ECOLX.fasta", tmp_path / "wt.fasta")
    code = main(["score-mutations", "--model", str(random_protein_dir), "--fasta", str(tmp_path / "wt.fasta"),
                 "--mutations", str(head), "--fitness-column", "2500", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert code == 0 and "Spearman rho vs 2500:" in printed and "(n=40)" in printed
    out = list(csv.DictReader((tmp_path / "blat_head.scored.csv").read_text().splitlines()))
    assert len(out) == 40 and "km" in out[0] and "biolm_score" in out[0]


def test_cli_reports_mutation_outside_sequence(tmp_path, random_protein_dir, capsys):
    path = write_csv(tmp_path / "mut.csv", [("A500V", "1")])
    code = main(["score-mutations", "--model", str(random_protein_dir), "--sequence", WT,
                 "--mutations", str(path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "position 500 is outside" in err and "Traceback" not in err


def test_protein_on_a_dna_model_is_an_alphabet_error(tmp_path, random_dna_dir):
    path = write_csv(tmp_path / "mut.csv", [("H5A", "1")])
    with pytest.raises(AlphabetError, match=r"record 'wild type'.*'I' at position 2"):
        score_mutations(random_dna_dir, WT, path, None, device="cpu", precision="fp32")
