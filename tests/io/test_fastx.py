import gzip
import logging

import numpy as np
import pysam
import pytest

from bioLM.errors import AlphabetError, InputFormatError
from bioLM.io import read_fastx, sniff


def records(path, **kwargs):
    return [(r.id, r.description, r.sequence, r.quality) for r in read_fastx(path, **kwargs)]


def test_fasta_basic_normalizes_case_and_rna(write):
    path = write("a.fa", ">r1 first one\nacgtNN\nAC\n>r2\nACGU\n")
    assert records(path, alphabet="dna") == [("r1", "first one", "ACGTNNAC", None), ("r2", "", "ACGT", None)]


def test_rna_kept_with_opt_out_and_detected(write):
    path = write("r.fa", ">m\nUACGUU\n")
    reader = read_fastx(path, rna_as_dna=False)
    assert [r.sequence for r in reader] == ["UACGUU"]
    assert reader.alphabet.name == "rna"


def test_soft_mask_only_when_asked(write):
    path = write("m.fa", ">r\nACgtA\n")
    assert next(iter(read_fastx(path))).soft_mask is None
    record = next(iter(read_fastx(path, keep_soft_mask=True)))
    assert record.sequence == "ACGTA"
    np.testing.assert_array_equal(record.soft_mask, [False, False, True, True, False])


def test_fastq_with_quality(write):
    path = write("r.fq", "@q1 desc\nACGT\n+\nIIII\n@q2\nAC\n+q2\nI#\n")
    assert sniff(path).format == "fastq"
    assert records(path) == [("q1", "desc", "ACGT", "IIII"), ("q2", "", "AC", "I#")]


def test_fastq_quality_length_mismatch(write):
    path = write("bad.fq", "@q1\nACGT\n+\nIIII\n@q2\nACGT\n+\nII\n")
    with pytest.raises(InputFormatError, match="q2|quality"):
        records(path)


@pytest.mark.parametrize("compression", ["gzip", "bgzip"])
def test_compressed_detected_from_content(tmp_path, compression):
    text = ">a\nACGT\n>b\nGGCC\n"
    path = tmp_path / "no_suffix"
    if compression == "gzip":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        plain = tmp_path / "plain.fa"
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path))
    assert sniff(path).compression == compression
    assert [r.sequence for r in read_fastx(path)] == ["ACGT", "GGCC"]


def test_crlf_and_blank_lines(write):
    path = write("crlf.fa", ">a x\r\nACGT\r\n\r\nAC\r\n>b\r\n\r\nGG\r\n\n")
    assert records(path) == [("a", "x", "ACGTAC", None), ("b", "", "GG", None)]


def test_whitespace_only_lines_are_blank_but_whitespace_inside_a_line_is_refused(write):
    path = write("ws.fa", ">a\nAC\n \t\nGT\n>b\n\t")  # found by the fuzz test: pysam keeps the tab
    assert records(path) == [("a", "", "ACGT", None), ("b", "", "", None)]
    path = write("many.fa", "".join(f">r{i}\nAC\n  \n{'G' * i}\n" for i in range(5)) + ">x\nTT\n")
    assert [r[2] for r in records(path)] == [f"AC{'G' * i}" for i in range(5)] + ["TT"]
    with pytest.raises(AlphabetError, match=r"line 2.*' ' at position 2"):
        list(read_fastx(write("in.fa", ">a\nAC GT\n"), alphabet="dna"))


def test_empty_file(write):
    with pytest.raises(InputFormatError, match="empty"):
        read_fastx(write("e.fa", ""))


def test_only_blank_lines(write):
    with pytest.raises(InputFormatError, match="no records"):
        read_fastx(write("e.fa", "\n\n  \n"))


def test_no_header_names_line(write):
    with pytest.raises(InputFormatError, match=r"line 2.*header") as info:
        read_fastx(write("t.fa", "\nhello world\nACGT\n"))
    assert info.value.line == 2


def test_binary_junk(write):
    with pytest.raises(InputFormatError, match="binary"):
        read_fastx(write("b.fa", b">a\n\x00\x01\x02\xff\xfe"))
    with pytest.raises(InputFormatError, match="binary"):
        read_fastx(write("c.fa", bytes(range(128, 256))))


def test_truncated_gzip(tmp_path):
    rng = np.random.default_rng(0)
    text = "".join(f">r{i}\n" + "".join(rng.choice(list("ACGT"), 2000)) + "\n" for i in range(50))
    data = gzip.compress(text.encode())
    path = tmp_path / "t.fa.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="truncated or corrupt"):
        records(path)
    path.write_bytes(data[:15])
    with pytest.raises(InputFormatError, match="truncated"):
        records(path)


def test_empty_sequence_warned_and_counted(write, caplog):
    path = write("e.fa", ">a\nACGT\n>b\n>c\nGG\n")
    reader = read_fastx(path)
    with caplog.at_level(logging.WARNING):
        result = [(r.id, r.sequence) for r in reader]
    assert result == [("a", "ACGT"), ("b", ""), ("c", "GG")]
    assert reader.empty_records == 1 and reader.records == 3
    assert "'b' has an empty sequence" in caplog.text


def test_duplicate_ids(write):
    path = write("d.fa", ">a\nAC\n>b\nGG\n>a\nTT\n")
    with pytest.raises(InputFormatError, match=r"duplicate record id 'a' \(first seen as record #1\)") as info:
        records(path)
    assert info.value.line == 5 and info.value.record == "a"
    assert [r.sequence for r in read_fastx(path, allow_duplicate_ids=True)] == ["AC", "GG", "TT"]


def test_invalid_character_names_position_and_line(write):
    path = write("i.fa", ">a\nACGT\n>b\nACGTAC\nGGJA\n")
    with pytest.raises(AlphabetError, match=r"'J' at position 8") as info:
        records(path, alphabet="dna")
    assert info.value.line == 5 and info.value.record == "b"
    assert records(path, alphabet="dna", replace_invalid=True)[1][2] == "ACGTACGGNA"


def test_invalid_character_long_sequence_fast_path(write):
    sequence = "ACGT" * 3000
    path = write("l.fa", f">a\n{sequence}\n>b\n{sequence}E{sequence}\n")
    with pytest.raises(AlphabetError, match="'E' at position 12000"):
        records(path, alphabet="dna")
    assert len(records(path, alphabet="protein")[1][2]) == 24001


def test_non_ascii_character(write):
    with pytest.raises(AlphabetError, match="non-ASCII"):
        records(write("u.fa", ">a\nACßGT\n"), alphabet="dna")


def test_protein_alphabet(write):
    path = write("p.fa", ">p\nmkvLE*\n")
    reader = read_fastx(path)
    assert [r.sequence for r in reader] == ["MKVLE*"]
    assert reader.alphabet.name == "protein"


def test_fastq_where_fasta_expected_works(write):
    path = write("x.fa", "@q\nACGT\n+\nIIII\n")
    assert records(path) == [("q", "", "ACGT", "IIII")]


def test_long_sequences_all_paths_agree(write):
    """Sequences past FAST_PATH_LENGTH: upper-case, soft-masked, RNA and protein give the policy's result."""
    dna = "ACGTN" * 1000
    path = write("long.fa", f">up\n{dna}\n>low\n{dna.lower()}\n>rna\n{dna.replace('T', 'U')}\n")
    assert [r.sequence for r in read_fastx(path, alphabet="dna")] == [dna, dna, dna]
    rna = read_fastx(path, alphabet="rna", rna_as_dna=False)
    assert [r.sequence for r in rna][2] == dna.replace("T", "U")
    protein = write("p.fa", ">p\n" + "MKVLE" * 1000 + "J\n")
    with pytest.raises(AlphabetError, match="'J' at position 5000"):
        records(protein, alphabet="protein")


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="no such file"):
        read_fastx(tmp_path / "absent.fa")


def test_nul_byte_past_the_sniff_window_names_its_line(write):
    body = b">a\n" + b"ACGTACGTAC\n" * 7000 + b">b\nACG\x00T\n"
    for name, data in (("late.fa", body), ("late.fa.gz", gzip.compress(body))):
        with pytest.raises(InputFormatError, match="line 7003: binary data \\(NUL byte\\)"):
            records(write(name, data))


def test_fastq_record_cut_before_its_quality_is_an_error(write):
    with pytest.raises(InputFormatError, match="record 'r'.*quality string has 0 characters"):
        records(write("cut.fq", "@q\nACGT\n+\nIIII\n@r\nACGT\n"))
    with pytest.raises(InputFormatError, match="quality character ' ' at position 1"):
        records(write("space.fq", "@q\nACGT\n+\nI II\n"))
