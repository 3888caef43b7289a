"""`biolm info` on the real genomes of ../shared/data/dna (skipped when the folder is absent)."""

import json
from pathlib import Path

import pytest

from bioLM.cli import main
from bioLM.io import Genome, file_info, read_gff3

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dna"

pytestmark = pytest.mark.data


def data(name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.mark.parametrize(("name", "expected"), [
    ("MT-human.fa", {"records": 1, "total_length": 16569, "alphabet": "dna", "non_acgt": {}}),
    ("athaliana_1pct.fa", {"records": 7, "total_length": 1196674, "alphabet": "dna",
                           "non_acgt": {"K": 3, "N": 2220, "S": 1, "Y": 1}}),
    ("human_chr22_20-21M.fa", {"records": 1, "total_length": 1_000_000, "non_acgt": {"N": 100000}}),
    ("ecoli_k12_w3110.fasta.gz", {"compression": "gzip", "records": 1, "total_length": 4646332}),
    ("mirbase_hairpin.fa.gz", {"compression": "gzip", "records": 28645, "alphabet": "rna", "total_length": 2949871,
                               "non_acgt": {"B": 1, "K": 10, "M": 7, "N": 255, "R": 22, "S": 3,
                                            "W": 8, "Y": 25}}),
])
def test_file_info_real(name, expected):
    info = file_info(data(name))
    assert {key: info[key] for key in expected} == expected
    assert info["format"] == "fasta"


def test_mt_soft_mask_and_gc():
    info = file_info(data("MT-human.fa"))
    assert info["soft_masked_fraction"] == pytest.approx(1 / 16569)
    assert info["gc"] == pytest.approx((5181 + 2170) / 16569, abs=1e-3)


def test_cli_reports_every_file(capsys):
    files = sorted(p for p in DATA.glob("*") if p.suffix in (".fa", ".fasta", ".gz")) if DATA.exists() else []
    if not files:
        pytest.skip("no shared data")
    assert main(["info", "--json", *map(str, files)]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert len(infos) == len(files) and all(i["records"] > 0 and i["format"] == "fasta" for i in infos)


def test_gff3_regions_fetch_from_genome(tmp_path):
    genes = read_gff3(data("athaliana_1pct.gff3"), feature_types={"gene"})
    assert genes[0].name == "AT1G01010" and (genes[0].start, genes[0].end) == (3630, 5899)
    with Genome(data("athaliana_1pct.fa"), index_dir=tmp_path) as genome:
        assert set(g.contig for g in genes) <= set(genome.contigs)
        assert len(genome.fetch(genes[0].contig, genes[0].start, genes[0].end, genes[0].strand)) == 2269
