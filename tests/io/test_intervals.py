import pytest

from bioLM.errors import InputFormatError
from bioLM.io import Region, read_bed, read_gff3


def test_bed_3_to_6_columns(write):
    path = write("a.bed", "track name=x\n# comment\nchr1\t0\t10\n\nchr1\t5\t8\tpeak\t3.5\t-\nchr2 1 2 n2\n")
    assert read_bed(path) == [Region("chr1", 0, 10), Region("chr1", 5, 8, "-", "peak", 3.5),
                              Region("chr2", 1, 2, "+", "n2")]


@pytest.mark.parametrize(("text", "message"), [
    ("chr1\t0\n", "line 2.*at least 3"),
    ("chr1\tx\t5\n", "line 2.*'x'.*integer"),
    ("chr1\t9\t5\n", "line 2.*start=9 end=5"),
    ("chr1\t0\t5\tn\t1\t*\n", "line 2.*strand"),
])
def test_bed_errors_name_line(write, text, message):
    with pytest.raises(InputFormatError, match=message):
        read_bed(write("b.bed", "chr1\t0\t1\n" + text))


def test_gff3_converted_and_filtered(write):
    path = write("a.gff3", "##gff-version 3\n"
                 "Chr1\tTAIR10\tgene\t3631\t5899\t.\t+\t.\tID=AT1G01010;Name=NAC001\n"
                 "Chr1\tTAIR10\texon\t3631\t3913\t.\t-\t.\tParent=AT1G01010.1;Name=e%3B1\n"
                 "##FASTA\n>x\nACGT\n")
    assert read_gff3(path) == [Region("Chr1", 3630, 5899, "+", "AT1G01010"), Region("Chr1", 3630, 3913, "-", "e;1")]
    assert read_gff3(path, feature_types={"exon"}) == [Region("Chr1", 3630, 3913, "-", "e;1")]


def test_gff3_bad_columns(write):
    with pytest.raises(InputFormatError, match="line 2.*expected 9"):
        read_gff3(write("b.gff3", "##gff-version 3\nChr1\tx\tgene\t1\n"))
