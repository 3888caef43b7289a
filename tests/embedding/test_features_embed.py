"""`biolm embed --regions FILE.gbk`: GenBank features on the file's own sequence, qualifiers as columns."""

from __future__ import annotations

from bioLM.alphabet import reverse_complement
from bioLM.cli import main
from bioLM.embedding import read_parquet
from bioLM.embedding.inputs import feature_records
from bioLM.synthetic import random_dna, write_genbank


def _genbank(tmp_path, rng):
    contig = random_dna(120, rng)
    parts = [(10, 20), (40, 52)]  # a two-exon CDS on the minus strand (22 bases: fits the context of 32)
    path = write_genbank(tmp_path / "g.gbk", [("NC_9.1", contig, [
        ("CDS", parts, "-", {"locus_tag": "b0001", "gene": "abcA", "product": "a protein"}),
        ("rRNA", [(70, 100)], "+", {"product": "16S"})])])
    return path, contig, parts


def test_feature_records_spliced_and_strand_aware(tmp_path, rng):
    path, contig, parts = _genbank(tmp_path, rng)
    records = list(feature_records(path, ["CDS", "rRNA"]))
    assert [r.id for r in records] == ["b0001", "NC_9.1:71-100(+)"]
    assert records[0].sequences[""] == reverse_complement(contig[10:20] + contig[40:52])
    assert records[1].sequences[""] == contig[70:100]
    assert records[0].metadata["gene"] == "abcA" and records[1].metadata["locus_tag"] == ""


def test_cli_embed_genbank_regions(tmp_path, model_dir, rng):
    path, _, _ = _genbank(tmp_path, rng)
    out = tmp_path / "cds.parquet"
    assert main(["embed", "--model", str(model_dir), "--regions", str(path), "--feature-types", "CDS",
                 "--out", str(out)]) == 0
    table = read_parquet(out)
    assert table.ids == ["b0001"]
    assert table.metadata["product"] == ["a protein"] and table.metadata["strand"] == ["-"]
    assert table.metadata["location"] == ["11-20,41-52"] and table.metadata["type"] == ["CDS"]
