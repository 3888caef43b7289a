"""The ``.blm`` container: a documented, checksummed file holding one coded FASTA file.

Layout (integers little-endian; ``varint`` = unsigned LEB128)::

    magic          8 bytes   b"\\x89BLMC\\r\\n\\x1a"
    version        u16       FORMAT_VERSION (3)
    header_size    u32
    header         JSON (UTF-8): mode ("pretrained" / "adaptive"), model_sha256 and model_name (pretrained,
                   or adaptive from a model), the adaptive recipe, coding parameters, symbol and lane
                   counts, ``streams`` (symbols per independent stream, bioLM.compression.streams) and
                   ``mask_shapes``, torch version, CPU capability, gzip_input, bioLM version
    sections       4 x (varint size, bytes):
                     side      xz: layout (bioLM.compression.layout) + letter streams
                               (bioLM.compression.sidestreams) + every stream's model_mask (packbits,
                               blocks x lanes, one after another)
                     fallback  per stream (varint sizes, then bytes): fixed-width symbols of its 2-bit blocks
                     payload   per stream (varint sizes, then bytes): range-coded symbols (32-bit words)
                     reserved  empty
    content_sha256 32 bytes  sha256 of the file that decompression writes (checked after decoding)
    file_sha256    32 bytes  sha256 of every byte before it (checked before decoding: corruption)

Model identity: :func:`bioLM.io.fingerprint.tree_sha256` over the model's ``*.safetensors`` files (sorted by
name), ``config.json`` and ``tokenizer.json`` (other files, e.g. logs, do not count). Decoding with another model
is refused.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from bioLM.compression.sidestreams import read_varint, write_varints
from bioLM.errors import ConfigError, InputFormatError, ModelDirectoryError
from bioLM.io.fingerprint import tree_sha256

MAGIC = b"\x89BLMC\r\n\x1a"
FORMAT_VERSION = 3
SECTIONS = 4
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
    return tree_sha256(model_dir, [*weights, *(model_dir / name for name in IDENTITY_FILES)])


def write_container(path: str | Path, header: dict, sections: list[bytes], content_sha256: bytes) -> None:
    """Write a whole container (see the module docstring) to ``path``."""
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    body = [MAGIC, struct.pack("<HI", FORMAT_VERSION, len(header_bytes)), header_bytes]
    for section in [*sections, *[b""] * (SECTIONS - len(sections))]:
        body += [write_varints([len(section)]), section]
    body.append(content_sha256)
    data = b"".join(body)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.write(hashlib.sha256(data).digest())


class ContainerReader:
    """Parse and verify a container read into memory: magic, version, file checksum, header, sections."""

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
        if len(data) < fixed + SECTIONS + 2 * DIGEST_SIZE:
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
        offset, self.sections = fixed + header_size, []
        try:
            for _ in range(SECTIONS):
                size, offset = read_varint(body, offset)
                self.sections.append(body[offset:offset + size])
                offset += size
        except ValueError as error:
            raise ContainerError(f"malformed sections ({error})", path=self.path) from None
        if offset != len(body) - DIGEST_SIZE:
            raise ContainerError(f"malformed sections (end at byte {offset})", path=self.path)

    def check_model(self, identity: str, model_dir: str | Path) -> None:
        """Refuse to decode with a model whose identity differs from the one that compressed the file."""
        expected = self.header.get("model_sha256")
        if expected != identity:
            raise ModelMismatchError(
                f"{self.path} was compressed with model {self.header.get('model_name')!r} (sha256 "
                f"{str(expected)[:16]}...) but {model_dir} has sha256 {identity[:16]}...; decompress with "
                "the same model directory (weights, config and tokenizer) that compressed it")
