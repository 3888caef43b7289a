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


# ---- mutations of valid files: a documented error, or exactly what a reference parser reads; never a crash,
# never a silent change. The reference is the documented FASTA policy, written out plainly.
IUPAC = set("ACGTNRYSWKMBDHV-")
STRUCTURE = b">@+\n\r"  # bytes that change a file's structure; mutations insert any other byte


def reference_fasta(data: bytes) -> list[tuple[str, str]] | None:
    """(id, sequence) per record as bioLM documents FASTA reading; None where the file must be refused."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\x0b\x0c\r" or ord(c) == 127 for c in text):
        return None  # binary / control bytes anywhere (tab, vertical tab, form feed are whitespace)
    records, current = [], None
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith(">"):
            words = line[1:].split()
            if not words:
                return None  # empty id
            current = [words[0], []]
            records.append(current)
        elif line.strip():
            if current is None:
                return None  # sequence before the first header
            current[1].append(line)
    result = []
    for name, lines in records:
        sequence = "".join(lines).upper().replace("U", "T")
        if set(sequence) - IUPAC:
            return None  # a letter outside the alphabet (spaces and tabs inside a sequence included)
        result.append((name, sequence))
    return result


valid_fasta = st.lists(st.tuples(st.text("ACGTNacgtn", min_size=0, max_size=80), st.sampled_from([0, 7, 60])),
                       min_size=1, max_size=4).map(
    lambda entries: "".join(f">r{i} d\n" + ("\n".join(s[j:j + w] for j in range(0, len(s), w)) if w else s) + "\n"
                            for i, (s, w) in enumerate(entries)).encode())
mutation = st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.floats(0, 1, exclude_max=True),
                     st.integers(0, 255).filter(lambda b: b not in STRUCTURE))


def mutate(data: bytes, op: str, where: float, byte: int) -> bytes:
    i = int(where * len(data))
    if op == "delete":
        return data[:i] + data[i + 1:]
    return data[:i] + bytes([byte]) + data[i + (op == "replace"):]


@SETTINGS
@given(data=valid_fasta, mutations=st.lists(mutation, min_size=1, max_size=3), padding=st.booleans(),
       compress=st.booleans())
def test_mutated_fasta_is_refused_or_read_exactly(tmp_path, data, mutations, padding, compress):
    if padding:  # a long first record: the mutations land past the 64 KiB that sniff() looks at
        data = b">pad\n" + b"ACGTACGTAC" * 7000 + b"\n" + data
    for op, where, byte in mutations:
        start = 5 + 70_001 if padding else 0
        data = data[:start] + mutate(data[start:], op, where, byte)
    path = tmp_path / ("x.fa.gz" if compress else "x.fa")
    path.write_bytes(gzip.compress(data) if compress else data)
    expected = reference_fasta(data)
    try:
        got = [(r.id, r.sequence) for r in read_fastx(path, alphabet="dna", allow_duplicate_ids=True)]
    except InputFormatError:
        assert expected is None, f"refused a valid file: {data[-300:]!r}"
        return
    assert expected is not None, f"accepted a file that must be refused: {data[-300:]!r}"
    assert got == expected


fastq_record = st.tuples(st.text("ACGTN", min_size=1, max_size=40), st.integers(0, 3)).map(
    lambda t: f"@q{t[1]}\n{t[0]}\n+\n{'I' * len(t[0])}\n".encode())


@SETTINGS
@given(records=st.lists(fastq_record, min_size=1, max_size=4), mutations=st.lists(mutation, max_size=3))
def test_mutated_fastq_errors_or_reads_consistent_records(tmp_path, records, mutations):
    data = b"".join(records)
    for op, where, byte in mutations:
        data = mutate(data, op, where, byte)
    path = tmp_path / "x.fq"
    path.write_bytes(data)
    try:
        got = list(read_fastx(path, alphabet="dna", allow_duplicate_ids=True))
    except InputFormatError:
        return
    for record in got:
        assert record.quality is not None and len(record.quality) == len(record.sequence)
        assert set(record.sequence) <= IUPAC and all(33 <= ord(c) < 127 for c in record.quality)
