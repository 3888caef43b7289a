"""Streaming FASTA / FASTQ reader (plain, gzip, bgzip; detected from content) built on ``pysam.FastxFile``.

Memory is bounded by the largest record (plus one id per record for the duplicate-id check). Sequences
follow the policy of :mod:`bioLM.alphabet`: upper-cased, ``U`` read as ``T`` (opt-out), letters checked.
Input a user can get wrong raises :class:`~bioLM.errors.InputFormatError` (or its subclass
:class:`~bioLM.errors.AlphabetError`) naming the file, the record id and ordinal, and the line.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import logging
import mmap
import os
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pysam

from bioLM.alphabet import Alphabet, detect_alphabet, get_alphabet, letter_policy, soft_mask
from bioLM.errors import AlphabetError, InputFormatError

logger = logging.getLogger(__name__)

SNIFF_BYTES = 1 << 16
MAX_EMPTY_WARNINGS = 10
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x7f"
_WHITESPACE = " \t\x0b\x0c"  # a substring test per character: ~60x faster than a regex class on every record
_CONTROL_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # the same bytes, searched in a header or quality string
_BAD_QUALITY = re.compile("[^!-~]")  # Phred+33 quality letters are '!' (33) to '~' (126)
SCAN_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileFormat:
    """What :func:`sniff` found in a file's first bytes."""

    format: Literal["fasta", "fastq", "genbank", "embl", "uniprot"]  # the last three: bioLM.io.seqfile
    compression: Literal["none", "gzip", "bgzip"]


@dataclass
class Record:
    """One FASTA/FASTQ record. ``sequence`` is normalized (upper-case, U->T unless opted out);
    ``soft_mask`` (bool, shape ``(len(sequence),)``, True where the file had lowercase) only with
    ``keep_soft_mask=True``; ``quality`` only for FASTQ."""

    id: str
    description: str
    sequence: str
    quality: str | None = None
    soft_mask: np.ndarray | None = None


def _is_bgzip(head: bytes) -> bool:
    """True when a gzip member header carries the BGZF 'BC' extra subfield."""
    if len(head) < 18 or not head[3] & 4:  # FLG.FEXTRA
        return False
    xlen = int.from_bytes(head[10:12], "little")
    extra, i = head[12:12 + xlen], 0
    while i + 4 <= len(extra):
        length = int.from_bytes(extra[i + 2:i + 4], "little")
        if extra[i:i + 2] == b"BC":
            return True
        i += 4 + length
    return False


def _first_text(path: Path, raw: bytes) -> tuple[bytes, str]:
    """Decompress (if gzip) the first bytes of ``path``; return (text bytes, compression)."""
    if raw[:2] != b"\x1f\x8b":
        return raw, "none"
    compression = "bgzip" if _is_bgzip(raw) else "gzip"
    out, decompressor = b"", zlib.decompressobj(wbits=31)
    try:
        with open(path, "rb") as handle:
            while len(out) < SNIFF_BYTES:
                chunk = handle.read(SNIFF_BYTES)
                if not chunk:
                    break
                out += decompressor.decompress(chunk, SNIFF_BYTES)
                while decompressor.eof and decompressor.unused_data:  # next gzip member (bgzip blocks)
                    rest = decompressor.unused_data
                    decompressor = zlib.decompressobj(wbits=31)
                    out += decompressor.decompress(rest, SNIFF_BYTES)
                if out.strip():
                    break
    except zlib.error as error:
        raise InputFormatError(f"corrupt gzip data ({error}); re-download or re-compress the file",
                               path=path) from None
    if not out and not decompressor.eof:
        raise InputFormatError("truncated gzip file (ends before any data); re-download or re-compress it",
                               path=path)
    return out, compression


def read_head(path: Path, kind: str, expected: str) -> tuple[bytes, str]:
    """The first bytes of ``path`` (decompressed when gzip) and its compression. A missing, unreadable, empty
    file or a directory raises :class:`InputFormatError` (``kind``: what a directory is not; ``expected``: what
    an empty file should have held)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise InputFormatError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputFormatError(f"is a directory, not {kind}", path=path) from None
    except OSError as error:
        raise InputFormatError(f"cannot open the file ({error.strerror})", path=path) from None
    if not raw:
        raise InputFormatError(f"file is empty; expected {expected}", path=path)
    return _first_text(path, raw)


def sniff(path: str | Path) -> FileFormat:
    """Detect format ('fasta'/'fastq') and compression ('none'/'gzip'/'bgzip') from the content of ``path``.

    Raises InputFormatError for a missing or empty file, binary data, or text without a '>'/'@' header.
    """
    path = Path(path)
    text, compression = read_head(path, "a FASTA/FASTQ file", "FASTA ('>' header) or FASTQ ('@' header)")
    if len(text.translate(None, _CONTROL)) != len(text):
        first = next(i for i, byte in enumerate(text) if byte in _CONTROL)
        raise InputFormatError(f"binary data (control byte {bytes([text[first]])!r}), not FASTA/FASTQ text",
                               path=path, line=text.count(b"\n", 0, first) + 1)
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(text) - 4 or len(text) < SNIFF_BYTES:  # not just a cut multi-byte char
            raise InputFormatError("binary data (not UTF-8 text), not FASTA/FASTQ", path=path,
                                   line=text.count(b"\n", 0, error.start) + 1) from None
    stripped = text.lstrip()
    if not stripped:
        raise InputFormatError("file has no records (only blank lines); expected FASTA or FASTQ", path=path)
    offset = len(text) - len(stripped)
    line = text.count(b"\n", 0, offset) + 1
    if offset and text[offset - 1:offset] != b"\n":  # "  >id": a header starts in the first column
        raise InputFormatError("the first header is indented; a '>' or '@' header starts in the first column",
                               path=path, line=line)
    first = stripped[:1]
    if first not in (b">", b"@"):
        shown = stripped.split(b"\n", 1)[0][:40].decode("utf-8", "replace")
        raise InputFormatError(f"expected a FASTA header ('>') or FASTQ header ('@'), found {shown!r}",
                               path=path, line=line)
    return FileFormat("fasta" if first == b">" else "fastq", compression)


def _open_text(path: Path, compression: str):
    return open(path, "rb") if compression == "none" else gzip.open(path, "rb")


def _iter_lines(path: Path, compression: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without end-of-line) over the file; stops quietly at a corrupt end."""
    try:
        with _open_text(path, compression) as handle:
            for number, line in enumerate(handle, 1):
                yield number, line.rstrip(b"\r\n")
    except (OSError, EOFError, zlib.error):
        return


def find_nul(path: str | Path) -> int | None:
    """Offset of the first NUL byte of the plain-text file ``path``, or None: one ``memchr`` over a read-only
    memory map (~3 ms for 50 MB in the page cache). pysam reads C strings, so a NUL would silently cut a record;
    compressed files are checked while they are inflated (:class:`_Inflater`)."""
    with open(path, "rb") as handle:
        try:
            with mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                           prot=mmap.PROT_READ) as view:  # populate: map the pages in one go, not 1 fault each
                found = view.find(b"\0")
                return None if found < 0 else found
        except (ValueError, OSError):  # empty file, pipe or special file: read it instead
            pass
        offset = 0
        while chunk := handle.read(SCAN_CHUNK):
            found = chunk.find(b"\0")
            if found >= 0:
                return offset + found
            offset += len(chunk)
    return None


def _inflate(handle) -> Iterator[bytes]:
    """Decompressed chunks (at most ``4 * SCAN_CHUNK`` bytes each) of a gzip / bgzip stream of any number of
    members. Raises EOFError for a stream that ends inside a member, zlib.error for corrupt data."""
    inflater, used, pending = zlib.decompressobj(wbits=31), False, b""
    while True:
        if not pending:
            pending = handle.read(SCAN_CHUNK)
            if not pending:
                break
        used = True
        out = inflater.decompress(pending, 4 * SCAN_CHUNK)
        pending = inflater.unconsumed_tail
        if inflater.eof:  # next member (bgzip blocks)
            pending, inflater, used = inflater.unused_data, zlib.decompressobj(wbits=31), False
        if out:
            yield out
    if used and not inflater.eof:
        raise EOFError("compressed stream ends inside a member")


class _Inflater(threading.Thread):
    """Inflates a compressed file into a pipe that pysam reads as plain text (one decompression, beside the
    parser: zlib releases the GIL), watching for NUL bytes on the way. A chunk holding a NUL, or corrupt data,
    ends the stream with ``nul`` (offset) / ``corrupt`` set *before* the pipe closes, so the reader sees the
    flag before it could yield the record cut at that point."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True, name=f"inflate {path.name}")
        self.path, self.nul, self.corrupt, self.offset = path, None, None, 0
        self.read_fd, self._write_fd = os.pipe()
        with contextlib.suppress(AttributeError, OSError):  # Linux: a 1 MiB pipe instead of 64 KiB
            fcntl.fcntl(self._write_fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), SCAN_CHUNK)

    def run(self) -> None:
        try:
            with open(self.path, "rb") as source, open(self._write_fd, "wb", buffering=0) as sink:
                for data in _inflate(source):
                    found = data.find(b"\0")
                    if found >= 0:
                        self.nul = self.offset + found
                        return
                    sink.write(data)
                    self.offset += len(data)
        except BrokenPipeError:  # the reader stopped early
            pass
        except (OSError, EOFError, zlib.error) as error:
            self.corrupt = str(error) or type(error).__name__


def _line_of_offset(path: Path, compression: str, offset: int) -> int:
    """1-based line number of byte ``offset`` of the (decompressed) text. Error path only."""
    line, seen = 1, 0
    with _open_text(path, compression) as handle:
        while seen < offset and (chunk := handle.read(min(SCAN_CHUNK, offset - seen))):
            line += chunk.count(b"\n")
            seen += len(chunk)
    return line


def locate(path: str | Path, ordinal: int, position: int | None = None) -> int | None:
    """Line number (1-based) of the header of record number ``ordinal`` (1-based), or of its sequence letter
    at 0-based ``position``. Re-reads the file: meant for error messages only. None when it cannot tell."""
    path = Path(path)
    try:
        fmt = sniff(path)
    except InputFormatError:
        return None
    header = next((number for i, (number, _) in enumerate(_headers(path, fmt), 1) if i == ordinal), None)
    if header is None or position is None:
        return header
    offset = 0
    for number, line in _iter_lines(path, fmt.compression):
        if number <= header:
            continue
        if line[:1] in (b">", b"+"):
            return None
        offset += len(line)
        if offset > position:
            return number
    return None


class FastxReader:
    """Iterator over the :class:`Record` s of one FASTA/FASTQ file (see :func:`read_fastx`).

    After (or during) iteration: ``records`` (count so far), ``empty_records`` (records with an empty
    sequence: yielded, warned about, counted), ``format`` (:class:`FileFormat`) and ``alphabet``.
    """

    def __init__(self, path: str | Path, *, alphabet: str | Alphabet | None = None,
                 replace_invalid: bool = False, allow_duplicate_ids: bool = False,
                 keep_soft_mask: bool = False, rna_as_dna: bool = True) -> None:
        self.path = Path(path)
        self.format = self._sniff()
        self.alphabet: Alphabet | None = None if alphabet is None else get_alphabet(alphabet)
        self.replace_invalid = replace_invalid
        self.allow_duplicate_ids = allow_duplicate_ids
        self.keep_soft_mask = keep_soft_mask
        self.rna_as_dna = rna_as_dna
        self.records = 0
        self.empty_records = 0
        self._seen: set[str] = set()
        self._lines: Iterator[tuple[int, bytes]] | None = None  # see _without_blank_lines
        self._lines_record = 0
        self._iterator = self._generate()
        if self.alphabet is not None:
            self._set_policy(self.alphabet)

    def _sniff(self) -> FileFormat:
        return sniff(self.path)

    def __iter__(self) -> FastxReader:
        return self

    def __next__(self) -> Record:
        return next(self._iterator)

    def _set_policy(self, alphabet: Alphabet) -> None:
        self.alphabet = alphabet
        self._policy = letter_policy(alphabet, self.rna_as_dna)

    def _error(self, message: str, name: str | None, position: int | None = None,
               kind: type[InputFormatError] = InputFormatError) -> InputFormatError:
        line = locate(self.path, self.records, position)
        return kind(f"record #{self.records}: {message}", path=self.path, record=name, line=line)

    def _normalize(self, name: str, sequence: str) -> str:
        """The letter policy of :mod:`bioLM.alphabet` (alphabet detected from the first record when not given);
        an invalid letter raises an error naming letter, position, record and line."""
        if self.alphabet is None:
            self._set_policy(get_alphabet(detect_alphabet(sequence[:10_000])))
        try:
            return self._policy.apply(sequence, replace_invalid=self.replace_invalid)
        except AlphabetError as error:
            hint = "; or pass replace_invalid=True / choose another alphabet"
            raise self._error(str(error) + hint, name, error.position, AlphabetError) from None

    def _check_id(self, name: str) -> None:
        if self.allow_duplicate_ids:
            return
        if name in self._seen:
            first = next((i for i, (_, n) in enumerate(_headers(self.path, self.format), 1) if n == name),
                         None)
            raise self._error(f"duplicate record id {name!r} (first seen as record #{first}); record ids "
                              "must be unique, or pass allow_duplicate_ids=True (--allow-duplicate-ids)", name)
        self._seen.add(name)

    def _record(self, name: str, comment: str | None, sequence: str, quality: str | None) -> Record:
        if "\r" in sequence:  # a CRLF blank line inside a record
            sequence = sequence.replace("\r", "")
        if self.format.format == "fasta" and any(c in sequence for c in _WHITESPACE):
            sequence = self._without_blank_lines(sequence)
        if not name and comment:  # "> 6400": space after the marker; the id is the first word (as Biopython)
            name, comment = (comment.split(None, 1) + [""])[:2]
        if not name:
            raise self._error("record has an empty id (nothing after the header marker)", None)
        if _CONTROL_TEXT.search(name) or (comment and _CONTROL_TEXT.search(comment)):
            raise self._error("binary data (control byte) in the header line, not FASTA/FASTQ text", name)
        self._check_id(name)
        if quality is None and self.format.format == "fastq":  # a record cut before its '+' / quality lines
            quality = ""
        if quality is not None:
            quality = quality.replace("\r", "")
            bad = _BAD_QUALITY.search(quality)
            if bad:
                raise self._error(f"quality character {bad.group()!r} at position {bad.start()} is outside "
                                  "'!'..'~' (Phred+33)", name)
            if len(quality) != len(sequence):
                raise self._error(f"quality string has {len(quality)} characters but the sequence has "
                                  f"{len(sequence)}", name)
        if not sequence:
            self.empty_records += 1
            if self.empty_records <= MAX_EMPTY_WARNINGS:
                logger.warning("%s: record #%d %r has an empty sequence", self.path, self.records, name)
        mask = soft_mask(sequence) if self.keep_soft_mask else None
        normalized = self._normalize(name, sequence) if sequence else ""
        return Record(name, comment or "", normalized, quality, mask)

    def _without_blank_lines(self, sequence: str) -> str:
        """The current FASTA record's ``sequence`` without the lines that hold only whitespace (blank lines, which
        Biopython skips too; pysam keeps their tabs and spaces); whitespace inside a sequence line stays, for the
        alphabet check to refuse. Rare path: a second, forward-only pass over the lines of the file (records come
        in order, so all such records together read the file once)."""
        if self._lines is None:
            self._lines, self._lines_record = _iter_lines(self.path, self.format.compression), 0
        lines = []
        for _, line in self._lines:
            if line[:1] == b">":
                self._lines_record += 1
                if self._lines_record > self.records:
                    break
            elif self._lines_record == self.records:
                lines.append(line.decode("utf-8", "replace").replace("\r", ""))
        if "".join(lines) != sequence:  # not the record pysam read: leave it to the checks
            return sequence
        return "".join(line for line in lines if line.strip())

    def _nul_error(self, offset: int) -> InputFormatError:
        line = _line_of_offset(self.path, self.format.compression, offset)
        return InputFormatError("binary data (NUL byte), not FASTA/FASTQ text; the file is corrupt or not a "
                                "sequence file", path=self.path, line=line)

    def _generate(self) -> Iterator[Record]:
        last, inflater = None, None
        source = str(self.path)
        if self.format.compression == "none":  # before any record: a NUL would cut one silently
            offset = find_nul(self.path)
            if offset is not None:
                raise self._nul_error(offset)
        else:
            inflater = _Inflater(self.path)
            source = f"/dev/fd/{inflater.read_fd}"
            inflater.start()
        verbosity = pysam.set_verbosity(0)  # htslib would print its own messages for truncated files
        try:
            with pysam.FastxFile(source, persist=False) as handle:
                for entry in handle:
                    self.records += 1
                    if inflater is not None:
                        self._check_inflater(inflater)
                    record = self._record(entry.name, entry.comment, entry.sequence, entry.quality)
                    last = record.id
                    yield record
        except (ValueError, OSError, EOFError, UnicodeDecodeError) as error:
            if isinstance(error, InputFormatError):
                raise
            raise self._parse_error(error, last) from None
        finally:
            pysam.set_verbosity(verbosity)
            if inflater is not None:
                os.close(inflater.read_fd)  # an early stop ends the inflater with a broken pipe
        if inflater is not None:
            inflater.join()
            self._check_inflater(inflater)
        if self.empty_records > MAX_EMPTY_WARNINGS:
            logger.warning("%s: %d records have an empty sequence", self.path, self.empty_records)

    def _check_inflater(self, inflater: _Inflater) -> None:
        """Raise the NUL byte or corrupt data the inflater found (set before it closed the pipe)."""
        if inflater.nul is not None:
            raise self._nul_error(inflater.nul)
        if inflater.corrupt is not None:
            line = _line_of_offset(self.path, self.format.compression, inflater.offset)
            raise InputFormatError(f"truncated or corrupt compressed data after line {line} ({inflater.corrupt}); "
                                   "re-download or re-compress the file", path=self.path, line=line + 1)

    def _parse_error(self, error: Exception, last: str | None) -> InputFormatError:
        after = f"after record #{self.records} ({last!r})" if last is not None else "before the first record"
        if isinstance(error, UnicodeDecodeError):
            message = f"binary data (not UTF-8 text) {after}"
        elif self.format.compression != "none":
            message = f"truncated or corrupt compressed data {after}; re-download or re-compress the file"
        else:
            message = f"malformed {self.format.format.upper()} {after} ({error})"
        return InputFormatError(message, path=self.path, line=locate(self.path, self.records + 1))


def _headers(path: Path, fmt: FileFormat) -> Iterator[tuple[int, str]]:
    """(line, id) of each header line; FASTQ assumes 4-line records. Error path only."""
    marker = b">" if fmt.format == "fasta" else b"@"
    for number, line in _iter_lines(path, fmt.compression):
        if line[:1] == marker and (fmt.format == "fasta" or number % 4 == 1):
            fields = line[1:].split(maxsplit=1)
            yield number, fields[0].decode("utf-8", "replace") if fields else ""


def read_fastx(path: str | Path, *, alphabet: str | Alphabet | None = None, replace_invalid: bool = False,
               allow_duplicate_ids: bool = False, keep_soft_mask: bool = False,
               rna_as_dna: bool = True) -> FastxReader:
    """Stream the records of a FASTA or FASTQ file (plain, gzip or bgzip; detected from content), or of a
    GenBank, EMBL or UniProt/Swiss-Prot flat file (detected from content; :mod:`bioLM.io.seqfile`).

    ``alphabet``: 'dna', 'rna', 'protein' or None (detected from the first record). Invalid letters raise
    AlphabetError (letter, 0-based position, line) unless ``replace_invalid`` (-> N, or X for protein).
    Duplicate ids raise unless ``allow_duplicate_ids``. Empty sequences are yielded, logged and counted
    (``reader.empty_records``). ``rna_as_dna=False`` keeps U in RNA. The sniff runs at call time, so a
    file that is not FASTA/FASTQ raises here, before iteration.
    """
    options = dict(alphabet=alphabet, replace_invalid=replace_invalid, allow_duplicate_ids=allow_duplicate_ids,
                   keep_soft_mask=keep_soft_mask, rna_as_dna=rna_as_dna)
    from bioLM.io.seqfile import FlatFileReader, detect_flat_format  # GenBank / EMBL / UniProt (Biopython)

    flat = detect_flat_format(path)
    return FastxReader(path, **options) if flat is None else FlatFileReader(path, flat, **options)
