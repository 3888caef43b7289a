"""Property tests: arbitrary bytes either parse or raise InputFormatError; FASTA round-trips through write_fasta."""

import gzip

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from bioLM.errors import InputFormatError
from bioLM.io import read_fastx, write_fasta

FASTA_ALPHABET = b">@+ \t\r\nACGTUNacgtnKSYxyz*-\x00\xff\xc3\xa9"
fasta_like = st.lists(st.sampled_from([bytes([c]) for c in FASTA_ALPHABET]), max_size=120).map(b"".join)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.one_of(st.binary(max_size=200), fasta_like, fasta_like.map(lambda b: b">r\n" + b),
                      st.tuples(fasta_like, st.integers(0, 200)).map(lambda t: gzip.compress(b">r\n" + t[0])[:t[1]])))
def test_any_bytes_parse_or_raise_input_format_error(tmp_path, data):
    path = tmp_path / "x.fa"
    path.write_bytes(data)
    try:
        records = list(read_fastx(path, allow_duplicate_ids=True))
    except InputFormatError:
        return
    assert all(isinstance(r.sequence, str) for r in records)


name = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=">@"), min_size=1, max_size=8)
description = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12).map(str.strip)
sequence = st.text(st.sampled_from("ACGTNacgtnRYKM"), max_size=150)


@SETTINGS
@given(entries=st.lists(st.tuples(name, description, sequence), min_size=1, max_size=6,
                        unique_by=lambda e: e[0]),
       width=st.sampled_from([0, 1, 7, 60]))
def test_fasta_round_trip(tmp_path, entries, width):
    path = tmp_path / "in.fa"
    path.write_text("".join(f">{n} {d}\n{s}\n" for n, d, s in entries))
    first = list(read_fastx(path, alphabet="dna"))
    out = tmp_path / "out.fa"
    write_fasta(out, first, width=width)
    second = list(read_fastx(out, alphabet="dna"))
    assert [(r.id, r.description, r.sequence) for r in second] == [(r.id, r.description, r.sequence) for r in first]
    assert [r.sequence for r in first] == [s.upper() for _, _, s in entries]
