"""The ``.blm`` container: a documented, checksummed file of arithmetic-coded FASTA records.

Layout (integers little-endian; ``varint`` = unsigned LEB128)::

    magic          8 bytes   b"\\x89BLMC\\r\\n\\x1a"
    version        u16       FORMAT_VERSION (1)
    header_size    u32
    header         JSON (UTF-8): model_sha256, model_name, coding parameters (total_bits, lanes,
                   min_lane_tokens, context, reprime, threads), line_width, torch and bioLM versions
    records        repeated: tag 0x01, then
                     varint len(id), id (UTF-8), varint len(description), description (UTF-8),
                     varint length (letters), varint n_tokens (coded tokens),
                     side streams (see bioLM.compression.sidestreams),
                     varint len(payload), payload (arithmetic-coded tokens)
    end            tag 0x00
    content_sha256 32 bytes  sha256 of the FASTA text that decompression writes (checked after decoding)
    file_sha256    32 bytes  sha256 of every byte before it (checked before decoding: corruption)

Model identity: sha256 over the model's ``*.safetensors`` files (sorted by name), ``config.json`` and
``tokenizer.json`` (name, size and bytes of each). Decoding with another model is refused.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bioLM.compression.sidestreams import SideStreams, read_varint, write_varints
from bioLM.errors import ConfigError, InputFormatError, ModelDirectoryError

MAGIC = b"\x89BLMC\r\n\x1a"
FORMAT_VERSION = 1
RECORD_TAG = 1
END_TAG = 0
DIGEST_SIZE = 32
IDENTITY_FILES = ("config.json", "tokenizer.json")


class ContainerError(InputFormatError):
    """A ``.blm`` file that is not one, is truncated or corrupted, or fails its checksum."""


class ModelMismatchError(ConfigError):
    """A ``.blm`` file compressed with another model than the one given for decompression."""


def model_identity(model_dir: str | Path) -> str:
    """Hex sha256 identifying a model directory (weights, config and tokenizer; see the module docstring)."""
    model_dir = Path(model_dir)
    weights = sorted(model_dir.glob("*.safetensors"))
    missing = [name for name in IDENTITY_FILES if not (model_dir / name).is_file()]
    if not weights or missing:
        what = ["*.safetensors weights"] if not weights else []
        raise ModelDirectoryError(
            f"{model_dir}: not a bioLM model directory (missing {', '.join(what + missing)}); pass the "
            "directory written by save_pretrained together with its tokenizer")
    digest = hashlib.sha256()
    for path in [*weights, *(model_dir / name for name in IDENTITY_FILES)]:
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass
class CodedRecord:
    """One record as stored: header fields, side streams and the coded token payload."""

    id: str
    description: str
    streams: SideStreams
    n_tokens: int
    payload: bytes

    def to_bytes(self) -> bytes:
        name, description = self.id.encode(), self.description.encode()
        return (bytes([RECORD_TAG]) + write_varints([len(name)]) + name
                + write_varints([len(description)]) + description
                + write_varints([self.streams.length, self.n_tokens]) + self.streams.to_bytes()
                + write_varints([len(self.payload)]) + self.payload)


class ContainerWriter:
    """Stream a container: ``write_record`` for each record, then ``close(content_sha256)``."""

    def __init__(self, handle: BinaryIO, header: dict) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        self._write(MAGIC + struct.pack("<HI", FORMAT_VERSION, len(header_bytes)) + header_bytes)

    def _write(self, data: bytes) -> None:
        self._digest.update(data)
        self._handle.write(data)

    def write_record(self, record: CodedRecord) -> None:
        self._write(record.to_bytes())

    def close(self, content_sha256: bytes) -> None:
        self._write(bytes([END_TAG]) + content_sha256)
        self._handle.write(self._digest.digest())


class ContainerReader:
    """Parse and verify a container read into memory: magic, version, file checksum, then records."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ContainerError("no such file", path=self.path) from None
        if data[:len(MAGIC)] != MAGIC:
            raise ContainerError("not a bioLM compressed file (bad magic bytes); compress it with "
                                 "`biolm compress` first", path=self.path)
        fixed = len(MAGIC) + 6
        if len(data) < fixed + 1 + 2 * DIGEST_SIZE:
            raise ContainerError("truncated file (shorter than the fixed header and trailer)", path=self.path)
        version, header_size = struct.unpack_from("<HI", data, len(MAGIC))
        if version != FORMAT_VERSION:
            raise ContainerError(f"format version {version} is not supported (this bioLM reads version "
                                 f"{FORMAT_VERSION}); use the bioLM version that wrote it", path=self.path)
        body, stored = data[:-DIGEST_SIZE], data[-DIGEST_SIZE:]
        if hashlib.sha256(body).digest() != stored:
            raise ContainerError("checksum mismatch: the file is corrupted or truncated (its sha256 does not "
                                 "match the one stored at its end); restore it from a good copy", path=self.path)
        try:
            self.header = json.loads(data[fixed:fixed + header_size].decode())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ContainerError("unreadable header", path=self.path) from None
        self.content_sha256 = body[-DIGEST_SIZE:]
        self._data = memoryview(body)[:-DIGEST_SIZE]
        self._offset = fixed + header_size

    def check_model(self, identity: str, model_dir: str | Path) -> None:
        """Refuse to decode with a model whose identity differs from the one that compressed the file."""
        expected = self.header.get("model_sha256")
        if expected != identity:
            raise ModelMismatchError(
                f"{self.path} was compressed with model {self.header.get('model_name')!r} (sha256 "
                f"{str(expected)[:16]}...) but {model_dir} has sha256 {identity[:16]}...; decompress with "
                "the same model directory (weights, config and tokenizer) that compressed it")

    def records(self) -> Iterator[CodedRecord]:
        """The stored records, in order."""
        data, offset = self._data, self._offset
        try:
            while data[offset] == RECORD_TAG:
                size, offset = read_varint(data, offset + 1)
                name = bytes(data[offset:offset + size]).decode()
                size, offset = read_varint(data, offset + size)
                description = bytes(data[offset:offset + size]).decode()
                length, offset = read_varint(data, offset + size)
                n_tokens, offset = read_varint(data, offset)
                streams, offset = SideStreams.from_bytes(length, data, offset)
                size, offset = read_varint(data, offset)
                payload = bytes(data[offset:offset + size])
                offset += size
                yield CodedRecord(name, description, streams, n_tokens, payload)
        except (IndexError, ValueError, UnicodeDecodeError) as error:
            raise ContainerError(f"malformed record stream at byte {offset} ({error})", path=self.path) from None
        if data[offset] != END_TAG or offset + 1 != len(data):
            raise ContainerError(f"malformed record stream at byte {offset}", path=self.path)
