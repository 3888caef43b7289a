"""Coding consequences (bioLM.scoring.consequence) on a two-exon minus-strand CDS from GenBank, GFF3, real data."""

from pathlib import Path

import pytest

from bioLM.alphabet import reverse_complement
from bioLM.errors import ConfigError
from bioLM.io.features import read_features
from bioLM.scoring.consequence import CodingAnnotator, Consequence, classify, codon_table, trim
from bioLM.synthetic import random_dna, write_genbank

CDS = "ATGAAACGTTGGCTGGAATTCCCGGGTAAATAA"  # M K R W L E F P G K *
INTRON = "GTAAGTTTTTTCCTTTTTCAG"
SPLIT = 14  # exon 1 holds CDS[:14]
DATA = Path("../shared/data/dna")


class Reference(dict):
    def fetch(self, contig: str, start: int, end: int) -> str:
        return self[contig][start:end]


def genomic(feature, position: int) -> int:
    """0-based contig coordinate of 0-based CDS ``position`` (5'->3' along the CDS) of ``feature``."""
    parts = feature.parts if feature.strand == "+" else feature.parts[::-1]
    for start, end in parts:
        if position < end - start:
            return start + position if feature.strand == "+" else end - 1 - position
        position -= end - start
    raise IndexError(position)


@pytest.fixture
def minus(tmp_path, rng):
    """(annotator factory, reference, CDS feature) for CDS in two exons on the minus strand, from GenBank."""
    plus = random_dna(20, rng) + CDS[:SPLIT] + INTRON + CDS[SPLIT:] + random_dna(15, rng)
    contig, n = reverse_complement(plus), len(plus)
    second = (SPLIT + 20 + len(INTRON), 20 + len(INTRON) + len(CDS))
    parts = [(n - second[1], n - second[0]), (n - 20 - SPLIT, n - 20)]
    path = write_genbank(tmp_path / "g.gbk", [("NC_1.1", contig, [("CDS", parts, "-", {"locus_tag": "b1"})])])
    reference = Reference({"NC_1.1": contig})
    feature, = read_features(path, ["CDS"])

    def annotator(code=1):
        return CodingAnnotator.from_file(path, reference, genetic_code=code)
    return annotator, contig, feature


def snv(annotator, contig, feature, position: int, base: str) -> str:
    """Consequence string of changing CDS ``position`` to ``base`` (both given on the CDS strand)."""
    g = genomic(feature, position)
    return str(annotator.annotate("NC_1.1", g, contig[g], reverse_complement(base)))


@pytest.mark.parametrize(("position", "base", "expected"), [
    (5, "G", "synonymous|b1|p.K2K"),  # AAA -> AAG
    (6, "T", "missense|b1|p.R3C"),  # CGT -> TGT
    (11, "A", "stop_gained|b1|p.W4*"),  # TGG -> TGA
    (30, "C", "stop_lost|b1|p.*11Qext*?"),  # TAA -> CAA
    (1, "C", "start_lost|b1|p.M1?"),  # ATG -> ACG
    (20, "A", "missense|b1|p.F7L"),  # exon 2: TTC -> TTA
    (13, "A", "missense&splice_region|b1|p.L5Q"),  # CTG -> CAG, last base of exon 1
    (12, "T", "splice_region|b1|p.L5L"),  # CTG -> TTG, 2nd-last base of exon 1
    (15, "C", "missense&splice_region|b1|p.E6Q"),  # GAA -> CAA, 2nd base of exon 2
    (16, "C", "missense|b1|p.E6A"),  # 3 bp into exon 2: no splice region
])
def test_snvs_on_the_minus_strand_two_exon_cds(minus, position, base, expected):
    annotator, contig, feature = minus
    assert snv(annotator(), contig, feature, position, base) == expected


def test_genetic_code_changes_the_call(minus):
    annotator, contig, feature = minus
    assert snv(annotator(4), contig, feature, 11, "A").startswith("synonymous|b1|p.W4W")  # TGA is W in table 4
    assert snv(annotator(1), contig, feature, 0, "G") == "start_lost|b1|p.M1?"  # GTG starts only in table 11
    assert snv(annotator(11), contig, feature, 0, "G") == "synonymous|b1|p.M1M"
    with pytest.raises(ConfigError, match="99 is not an NCBI translation table"):
        annotator(99)


def test_indels_with_vcf_anchor_bases(minus):
    annotator, contig, feature = minus
    g = genomic(feature, 22)  # delete one CDS base: on the contig, anchor = the base to its left
    deletion = annotator().annotate("NC_1.1", g - 1, contig[g - 1:g + 1], contig[g - 1])
    assert deletion.term == "frameshift" and deletion.protein.startswith("p.P")
    g3 = genomic(feature, 23)  # CDS 21..23 (codon 8 CCG, P) deleted: contig [g3, g3 + 3)
    inframe = annotator().annotate("NC_1.1", g3 - 1, contig[g3 - 1:g3 + 3], contig[g3 - 1])
    assert str(inframe) == "inframe_deletion|b1|p.P8del"
    insertion = annotator().annotate("NC_1.1", g3 - 1, contig[g3 - 1], contig[g3 - 1] + "TTT")  # AAA on the CDS
    assert str(insertion) == "inframe_insertion|b1|p.P8_G9insK"
    near_boundary = annotator().annotate("NC_1.1", genomic(feature, 17) - 1,
                                         contig[genomic(feature, 17) - 1:genomic(feature, 17) + 3],
                                         contig[genomic(feature, 17) - 1])  # CDS 15..17 (GAA): 2nd base of exon 2
    assert str(near_boundary) == "inframe_deletion&splice_region|b1|p.E6del"


def test_splice_region_and_non_coding(minus):
    annotator, contig, feature = minus
    a = annotator()
    intron_first = feature.parts[1][0] - 1  # intronic base next to exon 1 (minus strand: left of its part)
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    assert str(a.annotate("NC_1.1", intron_first, contig[intron_first], other[contig[intron_first]])) == \
        "splice_region|b1|p.?"
    middle = feature.parts[0][1] + len(INTRON) // 2
    assert str(a.annotate("NC_1.1", middle, contig[middle], other[contig[middle]])) == "non_coding||"
    assert str(a.annotate("NC_1.1", 2, contig[2], other[contig[2]])) == "non_coding||"
    assert str(a.annotate("chrX", 2, "A", "C")) == "non_coding||"


def test_most_severe_of_overlapping_cds_and_gff3(tmp_path, rng):
    contig = random_dna(30, rng) + CDS + random_dna(30, rng)
    gff = tmp_path / "a.gff3"
    gff.write_text("##gff-version 3\n"
                   f"c1\t.\tCDS\t31\t{30 + len(CDS)}\t.\t+\t0\tID=cds1;Parent=t1\n"
                   f"c1\t.\tCDS\t40\t{30 + len(CDS)}\t.\t+\t0\tID=cds2;Parent=t2\n")
    annotator = CodingAnnotator.from_file(gff, Reference({"c1": contig}))
    assert str(annotator.annotate("c1", 30 + 10, "G", "A")) == "stop_gained|cds1|p.W4*"  # TGG -> TGA in t1
    assert annotator.annotate("c1", 30 + 5, "A", "G").term == "synonymous"  # only t1 covers it


def test_classify_and_trim_directly():
    table = codon_table(1)
    assert classify("ATGCGTTAA", "ATGTGTTAA", table) == ("missense", "p.R2C")
    assert classify("ATGCGTAAATAA", "ATGCGTTAA", table) == ("inframe_deletion", "p.K3del")
    assert classify("ATGCGTAAATAA", "ATGTGGAAGTAA", table) == ("missense", "p.R2W")
    assert classify("ATGCGTAAATAA", "ATGTGGACATAA", table) == ("missense", "p.R2_K3delinsWT")
    assert classify("ATGNNNCGTTAA", "ATGNNNTGTTAA", table) == ("missense", "p.R3C")  # IUPAC / N in the CDS
    assert classify("ATGAKGTAA", "ATGAKATAA", table) == ("synonymous", "p.X2X")
    assert trim(10, "CAG", "CTG") == (11, "A", "T") and trim(10, "ca", "c") == (11, "A", "")
    assert str(Consequence("missense", "a;b c", "p.R2C")) == "missense|a_b_c|p.R2C"


@pytest.mark.skipif(not (DATA / "athaliana_1pct.gff3").exists(), reason="../shared/data absent")
def test_athaliana_cds_translate_and_start_lost():
    from bioLM.io import Genome

    genome = Genome(DATA / "athaliana_1pct.fa")
    annotator = CodingAnnotator.from_file(DATA / "athaliana_1pct.gff3", genome)
    features = {f.name: f for f in read_features(DATA / "athaliana_1pct.gff3", ["CDS"])}
    table = codon_table(1)
    for name in ("AT1G01010.1", "AT1G01020.1"):  # six exons on +, several on -
        feature = features[name]
        spliced = "".join(genome.fetch(feature.contig, s, e) for s, e in feature.parts)
        cds = spliced if feature.strand == "+" else reverse_complement(spliced)
        protein = classify(cds, cds, table)
        assert protein[0] == "synonymous"
        from Bio.Seq import translate
        assert translate(cds, table=1).find("*") == len(cds) // 3 - 1  # one stop, at the end
        g = genomic(feature, 1)  # ATG -> ACG (T>C on the CDS strand)
        alt = "C" if feature.strand == "+" else "G"
        assert str(annotator.annotate(feature.contig, g, genome.fetch(feature.contig, g, g + 1), alt)) == \
            f"start_lost|{name}|p.M1?"


def test_score_variants_declares_and_writes_consequences(tmp_path, minus, random_dna_dir, capsys):
    import pysam

    from bioLM.cli import main
    from bioLM.synthetic import write_fasta_records

    _, contig, feature = minus
    reference = write_fasta_records(tmp_path / "ref.fa", [("NC_1.1", contig)])
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    rows = []
    for position, base in ((6, "T"), (11, "A")):  # missense p.R3C, stop_gained p.W4*
        g = genomic(feature, position)
        rows.append(f"NC_1.1\t{g + 1}\t.\t{contig[g]}\t{reverse_complement(base)},<DEL>\t.\t.\t.")
    rows.append(f"NC_1.1\t3\t.\t{contig[2]}\t{other[contig[2]]}\t.\t.\t.")  # flank: non-coding
    vcf = tmp_path / "in.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "\n".join(sorted(rows, key=lambda r: int(r.split("\t")[1]))) + "\n")
    out, tsv = tmp_path / "o.vcf.gz", tmp_path / "o.tsv"
    assert main(["score-variants", "--model", str(random_dna_dir), "--reference", str(reference), "--vcf",
                 str(vcf), "--out", str(out), "--tsv", str(tsv), "--window", "24", "--device", "cpu",
                 "--annotation", str(tmp_path / "g.gbk")]) == 0
    with pysam.VariantFile(str(out)) as handle:
        assert handle.header.info["BIOLM_CSQ"].number == "A" and "genetic code 1" in \
            handle.header.info["BIOLM_CSQ"].description
        csq = sorted(tuple(r.info["BIOLM_CSQ"]) for r in handle)
    assert csq == [("missense|b1|p.R3C", "."), ("non_coding||",), ("stop_gained|b1|p.W4*", ".")]
    table = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert table[0][-1] == "csq" and sorted(row[-1] for row in table[1:]) == \
        [".", ".", "missense|b1|p.R3C", "non_coding||", "stop_gained|b1|p.W4*"]
    capsys.readouterr()
    assert main(["score-variants", "--model", str(random_dna_dir), "--reference", str(reference), "--vcf",
                 str(vcf), "--out", str(out), "--annotation", str(tmp_path / "g.gbk"), "--genetic-code", "99"]) == 2
    assert "not an NCBI translation table" in capsys.readouterr().err


def test_minus_strand_mirrors_plus_strand_for_every_snv(rng):
    """A gene and its reverse-complement mirror give the same consequence for every SNV of the CDS and its
    splice region (strand logic, phase of the exon split, splice windows on both sides)."""
    table = codon_table(1)
    sense = [c for c in table.forward_table if c not in ("ATG",)]
    cds = "ATG" + "".join(rng.choice(sense, 25)) + "TGA"
    plus = random_dna(12, rng) + cds[:40] + "GTAAGTCTTTTTTTTTTTCCAG" + cds[40:] + random_dna(12, rng)
    n, intron = len(plus), 22
    parts_plus = ((12, 52), (52 + intron, 12 + len(cds) + intron))
    from bioLM.io.features import Feature
    forward = CodingAnnotator([Feature("c", parts_plus, "+", "CDS", "t")], Reference({"c": plus}))
    mirrored = CodingAnnotator([Feature("c", tuple((n - e, n - s) for s, e in parts_plus[::-1]), "-", "CDS", "t")],
                               Reference({"c": reverse_complement(plus)}))
    terms = set()
    for position in range(10, n - 10):
        for alt in "ACGT":
            if alt != plus[position]:
                a = forward.annotate("c", position, plus[position], alt)
                b = mirrored.annotate("c", n - 1 - position, reverse_complement(plus[position]),
                                      reverse_complement(alt))
                assert a == b, (position, alt)
                terms.add(a.term)
    assert {"synonymous", "missense", "stop_gained", "stop_lost", "start_lost", "splice_region",
            "non_coding"} <= terms


def test_gff3_phase_sets_the_reading_frame_of_a_partial_cds(tmp_path, rng):
    contig = random_dna(30, rng) + "G" + CDS[3:] + random_dna(30, rng)  # 5'-partial: one base, then AAA CGT TGG ...
    gff = tmp_path / "p.gff3"
    gff.write_text(f"c1\t.\tCDS\t31\t{31 + len(CDS) - 3}\t.\t+\t1\tID=p1\n")
    annotator = CodingAnnotator.from_file(gff, Reference({"c1": contig}))
    assert str(annotator.annotate("c1", 31 + 3, "C", "T")) == "missense|p1|p.R2C"  # CGT -> TGT
    assert annotator.annotate("c1", 31, "A", "C").term == "missense"  # AAA -> CAA: no start codon to lose
