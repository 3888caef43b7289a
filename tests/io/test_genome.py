import gzip

import pysam
import pytest

from bioLM.errors import ContigNotFoundError, InputFormatError, RegionError
from bioLM.io import Genome, Region, iter_windows, parse_region

FASTA = ">chr1 first\nACGTACGTAC\nGGCCTTAAN\n>chr2\nacgtn\n>chrX\nTTTT\n"


@pytest.fixture
def genome(write):
    with Genome(write("g.fa", FASTA)) as g:
        yield g


def test_index_created_and_dict_like(genome, tmp_path):
    assert (tmp_path / "g.fa.fai").exists()
    assert genome.contigs == ["chr1", "chr2", "chrX"]
    assert genome.lengths == {"chr1": 19, "chr2": 5, "chrX": 4}
    assert "chr2" in genome and len(genome) == 3 and list(genome) == genome.contigs
    assert genome["chr1"][0:4] == "ACGT" and genome["chr1"][8:12] == "ACGG"
    assert genome["chr1"][-1] == "N" and len(genome["chr2"]) == 5


def test_fetch_soft_mask_upper_and_strand(genome):
    assert genome.fetch("chr2", 0, 5) == "ACGTN"
    assert genome.fetch("chr1", 0, 3, strand="-") == "CGT"


def test_padding_and_out_of_range(genome):
    assert genome.fetch("chrX", -2, 6, pad=True) == "NNTTTTNN"
    assert genome.fetch("chrX", 5, 7, pad=True) == "NN"
    with pytest.raises(RegionError, match="outside contig 'chrX' of length 4"):
        genome.fetch("chrX", 2, 6)
    with pytest.raises(RegionError, match="end < start"):
        genome.fetch("chrX", 3, 2)


def test_missing_contig_suggests(genome):
    with pytest.raises(ContigNotFoundError, match="did you mean 'chr1'") as info:
        genome.fetch("1", 0, 2)
    assert isinstance(info.value, KeyError)
    with pytest.raises(ContigNotFoundError, match="'chrX'"):
        genome["chrx"]


def test_parse_region_one_based_inclusive():
    assert parse_region("chr1:1-100") == Region("chr1", 0, 100)
    assert parse_region("chr1:1,001-2,000:-") == Region("chr1", 1000, 2000, "-")
    assert parse_region("HLA-A*01:01:5") == Region("HLA-A*01:01", 4, 5)
    for bad in ("chr1", "chr1:0-5", "chr1:5-4", "chr1:a-b"):
        with pytest.raises(RegionError):
            parse_region(bad)


def test_fetch_region(genome):
    assert genome.fetch_region("chr1:1-4") == "ACGT"
    assert genome.fetch_region("chrX") == "TTTT"
    assert genome.fetch_region(Region("chr1", 0, 2, "-")) == "GT"


def test_gzip_not_bgzip_says_bgzip(tmp_path):
    path = tmp_path / "g.fa.gz"
    path.write_bytes(gzip.compress(FASTA.encode()))
    with pytest.raises(InputFormatError, match="bgzip"):
        Genome(path)


def test_bgzip_indexed(write, tmp_path):
    plain = write("g.fa", FASTA)
    bgz = tmp_path / "g.fa.bgz"
    pysam.tabix_compress(str(plain), str(bgz))
    with Genome(bgz) as g:
        assert g.fetch("chr1", 10, 14) == "GGCC"


def test_index_dir_and_uneven_lines(write, tmp_path):
    path = write("u.fa", ">a\nACGT\nAC\nACGT\n")
    with pytest.raises(InputFormatError, match="faidx"):
        Genome(path, index_dir=tmp_path / "idx")
    with Genome(write("ok.fa", FASTA), index_dir=tmp_path / "idx") as g:
        assert g.fetch("chrX", 0, 1) == "T"
    assert (tmp_path / "idx" / "ok.fa.fai").exists()


def test_iter_windows(write):
    path = write("w.fa", FASTA)
    windows = list(iter_windows(path, size=8, overlap=2))
    assert [(w.contig, w.start, w.end) for w in windows] == [
        ("chr1", 0, 8), ("chr1", 6, 14), ("chr1", 12, 19), ("chr2", 0, 5), ("chrX", 0, 4)]
    assert windows[1].sequence == "GTACGGCC"
    with pytest.raises(RegionError):
        list(iter_windows(path, size=4, overlap=4))


def test_read_only_folder_indexes_into_cache(write, tmp_path, monkeypatch):
    path = write("ro.fa", FASTA)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tmp_path.chmod(0o555)
    try:
        with Genome(path) as g:
            assert g.fetch("chr2", 0, 2) == "AC"
    finally:
        tmp_path.chmod(0o755)
    assert not (tmp_path / "ro.fa.fai").exists()
    assert list((tmp_path / "cache" / "biolm" / "faidx").glob("*/ro.fa.fai"))
