"""Byte layout and letter side streams: any FASTA layout splits and joins back to the same bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bioLM.compression.layout import Layout, join_file, read_raw, split_file
from bioLM.compression.sidestreams import LetterStreams, join_letters, split_letters
from bioLM.errors import InputFormatError

LETTERS = "ACGTacgtNnRYKMSWBDHVU-*"


@st.composite
def fasta_files(draw) -> bytes:
    """FASTA files with every layout variant: wrapping, blank lines, CRLF, final newline, headers, letters."""
    eol = draw(st.sampled_from([b"\n", b"\r\n", "mixed"]))
    lines = [b"\n" * draw(st.integers(0, 2))]
    for _ in range(draw(st.integers(1, 4))):
        header = draw(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                              max_size=20)).encode()
        lines.append(b">" + header)
        sequence = draw(st.text(st.sampled_from(LETTERS), max_size=300)).encode()
        width = draw(st.sampled_from([0, 1, 7, 60, 61, 80]))
        chunks = [sequence] if not width else [sequence[i:i + width] for i in range(0, len(sequence), width)]
        if draw(st.booleans()) and chunks:  # irregular wrapping: split one line again
            i = draw(st.integers(0, len(chunks) - 1))
            cut = draw(st.integers(0, len(chunks[i])))
            chunks[i:i + 1] = [chunks[i][:cut], chunks[i][cut:]]
        lines += chunks + [b""] * draw(st.integers(0, 2))
    ends = [eol if eol != "mixed" else draw(st.sampled_from([b"\n", b"\r\n"])) for _ in lines]
    data = lines[0] + b"".join(line + end for line, end in zip(lines[1:], ends[1:]))
    return data if draw(st.booleans()) else data.rstrip(b"\r\n")


@settings(max_examples=150, deadline=None)
@given(fasta_files())
def test_any_layout_round_trips(data):
    if not data.strip():
        return
    layout, letters = split_file(data)
    restored = join_file(Layout.from_bytes(layout.to_bytes()), letters.tobytes())
    assert restored == data
    core, streams = split_letters(letters)
    assert set(core.tobytes()) <= set(b"ACGT")
    again, _ = LetterStreams.from_bytes(streams.to_bytes())
    assert join_letters(core, again).tobytes() == letters.tobytes()


def test_regular_wrapping_costs_two_runs():
    data = b">x desc\n" + b"\n".join([b"ACGT" * 15] * 10 + [b"AC"]) + b"\n"
    layout, letters = split_file(data)
    assert layout.line_runs == [[(60, 10), (2, 1)]]
    assert layout.headers == [b"x desc"] and len(letters) == 602 and layout.cr_runs == [12]


@pytest.mark.parametrize("position", [3, 70_000])
def test_binary_bytes_are_refused_with_their_line(position):
    body = bytearray(b">a\n" + b"ACGTACGTAC\n" * 8000)
    body[position] = 0
    line = body.count(b"\n", 0, position) + 1
    with pytest.raises(InputFormatError, match=rf"line {line}: binary data \(byte 0x00"):
        split_file(bytes(body), "in.fa")


@pytest.mark.parametrize("data, message", [
    (b"@r\nACGT\n+\nIIII\n", "codes FASTA only"),
    (b"ACGT\n>a\nAC\n", "expected a FASTA header"),
    (b"", "file is empty"),
])
def test_not_fasta_is_refused(data, message):
    with pytest.raises(InputFormatError, match=message):
        split_file(data, "in.fa")


def test_gzip_is_read_uncompressed(tmp_path):
    import gzip

    (tmp_path / "a.fa.gz").write_bytes(gzip.compress(b">a\nACGT\n"))
    assert read_raw(tmp_path / "a.fa.gz") == (b">a\nACGT\n", True)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b">a\nACGT\n")[:-6])
    with pytest.raises(InputFormatError, match="corrupt or truncated gzip"):
        read_raw(tmp_path / "bad.gz")


def test_letter_streams_are_runs():
    letters = np.frombuffer(b"ACnnnnGTacgtRY", dtype=np.uint8)
    core, streams = split_letters(letters)
    assert core.tobytes() == b"ACGTACGT"
    assert streams.gaps.tolist() == [2, 6, 0] and streams.lengths.tolist() == [4, 1, 1]
    assert bytes(streams.letters.tolist()) == b"NRY"
    assert streams.case_runs.tolist() == [2, 4, 2, 4, 2]


DATA = __import__("pathlib").Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dna"


@pytest.mark.data
@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", ["mirbase_hairpin.fa.gz", "athaliana_1pct.fa", "human_chr22_20-21M.fa",
                                  "ecoli_w.fasta.gz"])
def test_real_files_split_and_join_byte_exact(name):
    raw, _ = read_raw(DATA / name)
    layout, letters = split_file(raw, name)
    core, streams = split_letters(letters)
    again, _ = LetterStreams.from_bytes(streams.to_bytes())
    restored = join_file(Layout.from_bytes(layout.to_bytes()), join_letters(core, again).tobytes())
    assert restored == raw
