"""GenBank / EMBL / GFF3 features with their compound locations (bioLM.io.features)."""

import gzip

import pytest

from bioLM.alphabet import reverse_complement
from bioLM.errors import InputFormatError
from bioLM.io.features import flat_features, is_flat_file, read_features
from bioLM.synthetic import random_dna, write_genbank

CDS = "ATGAAACGTTGGCTGGAATTCCCGGGTAAATAA"  # M K R W L E F P G K *


def minus_two_exon(rng):
    """A contig with CDS on the minus strand in two exons: (sequence, parts in genomic order)."""
    intron = "GTAAGTTTTTTCCTTTTTCAG"
    plus = random_dna(20, rng) + CDS[:14] + intron + CDS[14:] + random_dna(15, rng)  # transcript orientation
    contig = reverse_complement(plus)
    n = len(plus)
    first = (20, 34)  # exon 1 on the transcript, then exon 2
    second = (34 + len(intron), 34 + len(intron) + len(CDS) - 14)
    parts = [(n - second[1], n - second[0]), (n - first[1], n - first[0])]
    return contig, parts


def test_genbank_minus_strand_two_exon_cds_is_spliced(tmp_path, rng):
    contig, parts = minus_two_exon(rng)
    path = write_genbank(tmp_path / "g.gbk", [("NC_1.1", contig, [
        ("source", [(0, len(contig))], "+", {"organism": "synthetic"}),
        ("CDS", parts, "-", {"locus_tag": "b0001", "gene": "abcA", "product": "a protein"}),
        ("gene", [(parts[0][0], parts[1][1])], "-", {"locus_tag": "b0001"})])])
    assert is_flat_file(path)
    found = list(flat_features(path, ["CDS"]))
    assert len(found) == 1
    feature, sequence = found[0]
    assert sequence == CDS
    assert feature.parts == tuple(parts) and feature.strand == "-" and feature.contig == "NC_1.1"
    assert feature.name == "b0001" and feature.columns()["product"] == "a protein"
    assert feature.location() == f"{parts[0][0] + 1}-{parts[0][1]},{parts[1][0] + 1}-{parts[1][1]}"
    assert [f.type for f in read_features(path)] == ["CDS", "gene"]  # 'source' only when asked for
    assert [f.type for f in read_features(path, ["source", "gene"])] == ["source", "gene"]
    assert [f.parts for f in read_features(path, ["gene"])] == [((parts[0][0], parts[1][1]),)]


def test_embl_and_gzip(tmp_path, rng):
    from Bio import SeqIO

    contig, parts = minus_two_exon(rng)
    gb = write_genbank(tmp_path / "g.gbk", [("X1.1", contig, [("CDS", parts, "-", {"gene": "x"})])])
    embl = tmp_path / "g.embl.gz"
    with gzip.open(embl, "wt") as handle:
        SeqIO.write(SeqIO.parse(str(gb), "genbank"), handle, "embl")
    (feature, sequence), = flat_features(embl)
    assert sequence == CDS and feature.name == "x"


def test_gff3_parts_grouped_by_parent_with_phase(tmp_path):
    gff = tmp_path / "a.gff3"
    gff.write_text("##gff-version 3\n"
                   "c1\t.\tmRNA\t1\t100\t.\t-\t.\tID=t1\n"
                   "c1\t.\tCDS\t61\t90\t.\t-\t2\tParent=t1,t1-Protein\n"
                   "c1\t.\tCDS\t11\t40\t.\t-\t0\tParent=t1,t1-Protein\n"
                   "c1\t.\tCDS\t5\t8\t.\t+\t.\tID=other;locus_tag=L%3B1\n")
    cds = read_features(gff, ["CDS"])
    assert [(f.name, f.parts, f.strand, f.phase) for f in cds] == [
        ("t1", ((10, 40), (60, 90)), "-", 2), ("other", ((4, 8),), "+", 0)]
    assert cds[1].columns()["locus_tag"] == "L;1"
    assert not is_flat_file(gff)
    gff.write_text("c1\t.\tCDS\t5\n")
    with pytest.raises(InputFormatError, match="line 1"):
        read_features(gff)


def test_flat_features_refuses_other_files(tmp_path):
    fasta = tmp_path / "a.fa"
    fasta.write_text(">a\nACGT\n")
    with pytest.raises(InputFormatError, match="GenBank or EMBL"):
        list(flat_features(fasta))


@pytest.mark.skipif(not __import__("pathlib").Path("../shared/data/dna/athaliana_1pct.gff3").exists(),
                    reason="../shared/data absent")
def test_athaliana_gff3_cds_models():
    cds = read_features("../shared/data/dna/athaliana_1pct.gff3", ["CDS"])
    first = next(f for f in cds if f.name == "AT1G01010.1")
    assert len(first.parts) == 6 and first.strand == "+" and first.parts[0] == (3759, 3913)
    assert sum(e - s for s, e in first.parts) % 3 == 0
