"""bioLM.io.vcf: the one VCF module of embed --vcf and score-variants (rules written in its docstring)."""

from __future__ import annotations

import builtins

import pysam
import pytest

from bioLM.errors import InputFormatError
from bioLM.io import Genome
from bioLM.io.vcf import (
    check_vcf_file,
    count_header_lines,
    read_contig_map,
    record_location,
    ref_problem,
    reference_contig,
    skip_reason,
    window_interval,
    window_pair,
)
from bioLM.synthetic import write_fasta_records


@pytest.fixture
def genome(tmp_path):
    path = write_fasta_records(tmp_path / "ref.fa", [("chr1", "ACGTACGTAC" * 3)])
    pysam.faidx(str(path))
    with Genome(path) as g:
        yield g


def test_ref_check_says_past_the_contig_end(genome):
    assert ref_problem(genome, "chr1", 0, "ACG") is None
    assert ref_problem(genome, "chr1", 0, "acg") is None  # case-insensitive
    assert ref_problem(genome, "chr1", 1, "A", "1") == "1:2 REF=A reference=C"
    assert "runs past the end of contig chr1 (length 30)" in ref_problem(genome, "chr1", 28, "ACGT")
    assert "starts past the end" in ref_problem(genome, "chr1", 40, "A")


def test_contig_map_and_lookup(tmp_path, genome):
    (tmp_path / "map.txt").write_text("# vcf reference\n1 chr1\n\nMT chrM  # comment\n")
    mapping = read_contig_map(tmp_path / "map.txt")
    assert mapping == {"1": "chr1", "MT": "chrM"}
    assert reference_contig("1", mapping, genome) == "chr1" and reference_contig("MT", mapping, genome) is None
    (tmp_path / "bad.txt").write_text("1 chr1 extra\n")
    with pytest.raises(InputFormatError, match=r"bad\.txt, line 1: expected 2 columns"):
        read_contig_map(tmp_path / "bad.txt")


def test_window_rule_is_centred_and_shifted_inward(genome):
    assert window_interval(15, 1, 10, 30) == (11, 21)  # (10 - 1) // 2 = 4 bases left of REF
    assert window_interval(1, 1, 10, 30) == (0, 10)  # shifted at the contig start, never padded
    assert window_interval(29, 1, 10, 30) == (20, 30)
    assert window_interval(5, 12, 10, 30) == (5, 17)  # never narrower than REF
    pair = window_pair(genome.fetch("chr1", 11, 21), 11, 15, "C", "CGG")  # reference[11:21] = CGTA C GTACA
    assert pair.ref == "CGTACGTACA" and pair.alt == "CGTACGGGTACA" and (pair.start, pair.end) == (11, 21)


def test_alleles_and_locations():
    assert [skip_reason(a) for a in ("<DEL>", "*", "G]1:5]", ".", None, "acgtn", "AXG")] == \
        ["symbolic"] * 5 + [None, "invalid_allele"]
    assert record_location(3, 0) == "line 4" and record_location(None, 0) == "record 1"


def test_unreadable_vcf_is_a_clear_error(tmp_path, monkeypatch):
    vcf = tmp_path / "x.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    assert count_header_lines(vcf) == 2
    real_open = builtins.open

    def no_permission(file, *args, **kwargs):
        if str(file) == str(vcf):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_permission)  # the tests run as root: chmod would not stop reads
    with pytest.raises(InputFormatError, match=r"x\.vcf: cannot read the VCF \(Permission denied\)"):
        check_vcf_file(vcf)
