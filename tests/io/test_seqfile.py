"""GenBank / EMBL / UniProt input through the one reader (read_fastx), detected from content."""

import gzip

import numpy as np
import pytest

from bioLM.errors import AlphabetError, InputFormatError
from bioLM.io import file_info, read_fastx
from bioLM.io.seqfile import detect_flat_format

GENBANK = """LOCUS       TEST1                     24 bp    DNA     linear   BCT 01-JAN-2000
DEFINITION  a tiny test record.
ACCESSION   TEST1
VERSION     TEST1.1
FEATURES             Location/Qualifiers
     CDS             complement(join(1..6,10..15))
                     /locus_tag="b0001"
ORIGIN
        1 atgaaacccg ggtttaaatt tagc
//
LOCUS       TEST2                     12 bp    DNA     linear   BCT 01-JAN-2000
DEFINITION  second.
ACCESSION   TEST2
VERSION     TEST2.3
ORIGIN
        1 acgtacgtac gt
//
"""

EMBL = """ID   X56734; SV 1; linear; mRNA; STD; PLN; 20 BP.
XX
AC   X56734; S46826;
XX
DE   Trifolium repens mRNA
XX
SQ   Sequence 20 BP; 5 A; 5 C; 5 G; 5 T; 0 other;
     aaacaaacca acggtttttt                                                    20
//
"""

UNIPROT = """ID   TEST_HUMAN              Reviewed;          12 AA.
AC   P99999; Q00000;
DT   01-JAN-2000, integrated into UniProtKB/Swiss-Prot.
DE   RecName: Full=Test protein;
OS   Homo sapiens (Human).
OC   Eukaryota.
SQ   SEQUENCE   12 AA;  1234 MW;  0000000000000000 CRC64;
     MKTAYIAKQR QI
//
"""


def test_genbank_records_like_fasta(write):
    path = write("x.txt", "\n\n" + GENBANK)  # no telling suffix, leading blank lines: detected by content
    reader = read_fastx(path, keep_soft_mask=True)
    records = list(reader)
    assert [(r.id, r.description, r.sequence) for r in records] == [
        ("TEST1.1", "a tiny test record", "ATGAAACCCGGGTTTAAATTTAGC"), ("TEST2.3", "second", "ACGTACGTACGT")]
    assert reader.format.format == "genbank" and reader.records == 2 and reader.alphabet.name == "dna"
    assert not records[0].soft_mask.any() and len(records[0].soft_mask) == 24


def test_gzip_genbank_and_embl(write):
    gb = write("x.gbk.gz", gzip.compress(GENBANK.encode()))
    assert [r.id for r in read_fastx(gb)] == ["TEST1.1", "TEST2.3"]
    assert read_fastx(gb).format.compression == "gzip"
    embl = write("x.embl", EMBL)
    reader = read_fastx(embl)
    assert [(r.id, r.sequence) for r in reader] == [("X56734.1", "AAACAAACCAACGGTTTTTT")]
    assert reader.format.format == "embl"


def test_uniprot_flat_file_is_protein(write):
    path = write("sp.dat", UNIPROT)
    reader = read_fastx(path)
    assert [(r.id, r.sequence) for r in reader] == [("P99999", "MKTAYIAKQRQI")]
    assert reader.format.format == "uniprot" and reader.alphabet.name == "protein"


def test_fasta_stays_on_the_fastx_path(write):
    assert detect_flat_format(write("a.fa", ">a\nACGT\n")) is None
    assert detect_flat_format(write("a.fq", "@a\nACGT\n+\nIIII\n")) is None


def test_file_info_reads_genbank(write):
    info = file_info(write("x.gb", GENBANK))
    assert info["format"] == "genbank" and info["records"] == 2 and info["total_length"] == 36


def test_letter_policy_and_duplicates_apply(write):
    bad = GENBANK.replace("atgaaacccg", "atgaaaccc1", 1)
    with pytest.raises(InputFormatError, match="TEST1"):
        list(read_fastx(write("bad.gb", bad)))
    with pytest.raises(AlphabetError, match="TEST1.1"):
        list(read_fastx(write("p.gb", GENBANK.replace("atgaaacccg", "atgaaacccj", 1)), alphabet="dna"))
    twice = GENBANK.replace("TEST2.3", "TEST1.1").replace("ACCESSION   TEST2", "ACCESSION   TEST1")
    with pytest.raises(InputFormatError, match="duplicate record id 'TEST1.1'"):
        list(read_fastx(write("d.gb", twice)))
    assert len(list(read_fastx(write("d2.gb", twice), allow_duplicate_ids=True))) == 2


@pytest.mark.parametrize(("content", "named"), [
    ("##gff-version 3\nchr1\t.\tgene\t1\t10\t.\t+\t.\tID=g\n", "GFF3"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\n", "VCF"),
    ("hello world\n", "found 'hello world'"),
])
def test_unreadable_formats_say_what_they_are(write, content, named):
    with pytest.raises(InputFormatError, match=named) as info:
        read_fastx(write("in.txt", content))
    assert "GenBank" in str(info.value)


def test_truncated_genbank_is_an_error(write):
    cut = GENBANK[:GENBANK.index("ORIGIN")]
    with pytest.raises(InputFormatError, match="genbank"):
        list(read_fastx(write("cut.gb", cut)))


def test_soft_mask_shape_matches_fasta(write):
    fasta = write("a.fa", ">TEST2.3\nACGTACGTACGT\n")
    gb = write("b.gb", GENBANK)
    a = next(iter(read_fastx(fasta, keep_soft_mask=True)))
    b = list(read_fastx(gb, keep_soft_mask=True))[1]
    assert a.sequence == b.sequence
    np.testing.assert_array_equal(a.soft_mask, b.soft_mask)


def test_prepare_finds_flat_files_in_a_directory(tmp_path):
    from bioLM.data.prepare import expand_inputs

    (tmp_path / "a.gbk.gz").write_bytes(gzip.compress(GENBANK.encode()))
    (tmp_path / "b.fa").write_text(">b\nACGT\n")
    (tmp_path / "notes.txt").write_text("not a sequence\n")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.gbk.gz", "b.fa"]


def test_sequence_file_stem_is_the_one_suffix_rule():
    from bioLM.io.seqfile import sequence_file_stem

    assert sequence_file_stem("class_A.fa.gz") == "class_A"
    assert sequence_file_stem("Reads.FASTQ.bgz") == "Reads"
    assert sequence_file_stem("genome.gbk") == "genome"
    assert sequence_file_stem("train.csv") is None and sequence_file_stem("notes.gz") is None
