"""``compress_fasta`` / ``decompress``: a FASTA file <-> a ``.blm`` container, coded with a bioLM model.

Per record: the A/C/G/T core is tokenized and arithmetic-coded with the model's next-token distribution
(restricted to the coding alphabet, quantized by :mod:`bioLM.compression.quantize`); case and non-ACGT runs
go to side streams (:mod:`bioLM.compression.sidestreams`). The model runs in fp32 on the CPU under
``torch.inference_mode`` with a fixed number of threads (recorded in the file), one forward pass per token
with the KV cache, sliding as described in :mod:`bioLM.compression.stepper`.

What is restored byte for byte: ids, descriptions, letters (IUPAC, ``U``, ``-`` included) and case of every
record, in order. What is normalized: line wrapping (60 columns, LF line ends), the single whitespace
character after the id (a tab becomes a space), whitespace at the end of a header without description.
Input is FASTA (plain or gzip); FASTQ is refused (qualities would be lost).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bioLM import __version__
from bioLM.compression.coder import ArithmeticDecoder, ArithmeticEncoder
from bioLM.compression.container import (
    CodedRecord,
    ContainerError,
    ContainerReader,
    ContainerWriter,
    model_identity,
)
from bioLM.compression.quantize import DEFAULT_TOTAL_BITS, cumulative_table, ideal_bits, quantize_logits
from bioLM.compression.sidestreams import SideStreams, join_record, split_record
from bioLM.compression.stepper import CodingAlphabet, LaneStepper, lane_sizes, pad_tokens
from bioLM.errors import ConfigError, InputFormatError

logger = logging.getLogger(__name__)
LINE_WIDTH = 60


@dataclass
class CodecConfig:
    """Coding parameters, stored in the container header (decompression reads them from there)."""

    total_bits: int = DEFAULT_TOTAL_BITS
    """Frequencies of each step sum to at most ``2**total_bits``."""
    lanes: int = 8
    """Most lanes (batch rows) a record is cut into; 1 = one left-to-right pass (best ratio, slowest)."""
    min_lane_tokens: int = 4096
    """Fewest tokens per lane: short records use fewer lanes."""
    threads: int = 1
    """torch CPU threads while coding (the same count is used to decode: floating-point reproducibility)."""


@dataclass
class CodecReport:
    """What a compression or decompression did. ``ideal_bits``: sum of -log2 of the quantized probabilities."""

    records: int
    bases: int
    tokens: int
    payload_bytes: int
    file_bytes: int
    ideal_bits: float
    seconds: float

    @property
    def bits_per_base(self) -> float:
        """Container size in bits over bases (0 for no bases)."""
        return 8.0 * self.file_bytes / self.bases if self.bases else 0.0


class CodingModel:
    """A model directory loaded for coding: fp32 CPU model, tokenizer, coding alphabet, identity."""

    def __init__(self, model_dir: str | Path) -> None:
        from transformers import AutoModelForCausalLM

        import bioLM.model  # noqa: F401  (registers the biolm model type)
        from bioLM.tokenization import load_tokenizer

        self.model_dir = Path(model_dir)
        self.identity = model_identity(self.model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32).eval()
        self.context = int(self.model.config.max_position_embeddings)
        self.alphabet = CodingAlphabet.from_tokenizer(self.tokenizer)
        if len(self.alphabet.ids) == 0:
            raise ConfigError(f"{self.model_dir}: the tokenizer has no token made of A/C/G/T only; the "
                              "compressor codes DNA and needs a DNA tokenizer")
        self._index = self.alphabet.index_of()
        self._single = all(len(t) == 1 for t in self.alphabet.texts)
        self._byte_table = np.full(256, -1, dtype=np.int64)
        if self._single:
            for index, text in enumerate(self.alphabet.texts):
                self._byte_table[ord(text)] = index

    def symbols(self, core: str, record: str) -> np.ndarray:
        """Symbol indices (into the coding alphabet) of the A/C/G/T string ``core``."""
        if self._single:
            symbols = self._byte_table[np.frombuffer(core.encode("ascii"), dtype=np.uint8)]
        else:
            from bioLM.tokenization import encode_sequence

            ids = np.asarray(encode_sequence(self.tokenizer, core), dtype=np.int64)
            symbols = np.where(ids < len(self._index), self._index[np.minimum(ids, len(self._index) - 1)], -1)
        if (symbols < 0).any() or self.text(symbols) != core:
            raise ConfigError(f"record {record!r}: the tokenizer of {self.model_dir} does not spell this "
                              "sequence with A/C/G/T tokens only, so it cannot be coded losslessly; use a "
                              "model with a char or BPE tokenizer")
        return symbols

    def text(self, symbols: np.ndarray) -> str:
        """The bases spelled by ``symbols``."""
        texts = self.alphabet.texts
        return "".join(texts[s] for s in symbols.tolist())


@contextlib.contextmanager
def coding_threads(threads: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(previous)


def code_tokens(coding: CodingModel, symbols: np.ndarray, config: CodecConfig) -> tuple[bytes, float]:
    """Arithmetic-code ``symbols`` (shape ``(n,)``) of one record; return (payload, ideal bits)."""
    sizes = lane_sizes(len(symbols), config.lanes, config.min_lane_tokens)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    ids = coding.alphabet.ids
    stepper = LaneStepper(coding.model, ids, len(sizes), coding.context)
    encoder, bits = ArithmeticEncoder(), 0.0
    logits = stepper.start()
    for t in range(sizes[0]):
        active = [lane for lane, size in enumerate(sizes) if t < size]
        lane_symbols = symbols[starts[active] + t]
        frequencies = quantize_logits(logits[: len(active)], config.total_bits)
        table = cumulative_table(frequencies)
        for row, symbol in enumerate(lane_symbols.tolist()):
            encoder.encode(int(table[row, symbol]), int(table[row, symbol + 1]), int(table[row, -1]))
        bits += ideal_bits(frequencies, lane_symbols)
        if t + 1 < sizes[0]:
            feed = pad_tokens(len(sizes))
            feed[: len(active)] = torch.as_tensor(ids[lane_symbols])
            logits = stepper.feed(feed)
    return encoder.finish(), bits


def decode_tokens(coding: CodingModel, payload: bytes, n_tokens: int, config: CodecConfig) -> np.ndarray:
    """Inverse of :func:`code_tokens`: the ``n_tokens`` symbols of one record."""
    sizes = lane_sizes(n_tokens, config.lanes, config.min_lane_tokens)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    ids = coding.alphabet.ids
    stepper = LaneStepper(coding.model, ids, len(sizes), coding.context)
    decoder = ArithmeticDecoder(payload)
    out = np.zeros(n_tokens, dtype=np.int64)
    logits = stepper.start()
    for t in range(sizes[0]):
        active = [lane for lane, size in enumerate(sizes) if t < size]
        table = cumulative_table(quantize_logits(logits[: len(active)], config.total_bits))
        lane_symbols = np.array([decoder.decode(table[row]) for row in range(len(active))], dtype=np.int64)
        out[starts[active] + t] = lane_symbols
        if t + 1 < sizes[0]:
            feed = pad_tokens(len(sizes))
            feed[: len(active)] = torch.as_tensor(ids[lane_symbols])
            logits = stepper.feed(feed)
    return out


def fasta_text(name: str, description: str, sequence: str, width: int = LINE_WIDTH) -> str:
    """One record as the decompressor writes it: header line, then ``width``-column sequence lines."""
    header = f">{name} {description}\n" if description else f">{name}\n"
    return header + "".join(sequence[i:i + width] + "\n" for i in range(0, len(sequence), width))


def _with_case(sequence: str, mask: np.ndarray | None) -> str:
    """The sequence as it was in the file: lowercase where ``mask`` is True."""
    if mask is None or not mask.any():
        return sequence
    raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8).copy()
    raw[mask] |= 0x20
    return raw.tobytes().decode("ascii")


def _header(coding: CodingModel, config: CodecConfig) -> dict:
    return {"model_sha256": coding.identity, "model_name": coding.model_dir.name, "coding": asdict(config),
            "context": coding.context, "line_width": LINE_WIDTH, "torch": torch.__version__,
            "bioLM": __version__}


def compress_fasta(model_dir: str | Path, in_path: str | Path, out_path: str | Path,
                   config: CodecConfig | None = None, coding: CodingModel | None = None) -> CodecReport:
    """Compress the FASTA file ``in_path`` (plain or gzip) into the container ``out_path``.

    ``coding`` reuses a loaded model (else ``model_dir`` is loaded). Returns a :class:`CodecReport`.
    """
    from bioLM.io import read_fastx

    config = config or CodecConfig()
    coding = coding or CodingModel(model_dir)
    began = time.perf_counter()
    report = CodecReport(0, 0, 0, 0, 0, 0.0, 0.0)
    reader = read_fastx(in_path, alphabet="rna", rna_as_dna=False, keep_soft_mask=True,
                        allow_duplicate_ids=True)
    if reader.format.format != "fasta":
        raise InputFormatError("is FASTQ; `biolm compress` codes FASTA only (qualities would be lost): "
                               "convert it to FASTA first", path=in_path)
    partial = Path(f"{out_path}.partial")
    try:
        _write_container(coding, reader, partial, config, report)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out_path)
    report.file_bytes = os.path.getsize(out_path)
    report.seconds = time.perf_counter() - began
    return report


def _write_container(coding: CodingModel, reader, partial: Path, config: CodecConfig, report: CodecReport) -> None:
    """Code every record of ``reader`` into the container file ``partial``, filling ``report``."""
    content = hashlib.sha256()
    with open(partial, "wb") as handle, coding_threads(config.threads):
        writer = ContainerWriter(handle, _header(coding, config))
        for record in reader:
            core, streams = split_record(record.sequence, record.soft_mask)
            symbols = coding.symbols(core, record.id)
            payload, bits = code_tokens(coding, symbols, config) if len(symbols) else (b"", 0.0)
            writer.write_record(CodedRecord(record.id, record.description, streams, len(symbols), payload))
            content.update(fasta_text(record.id, record.description,
                                      _with_case(record.sequence, record.soft_mask)).encode())
            report.records += 1
            report.bases += len(record.sequence)
            report.tokens += len(symbols)
            report.payload_bytes += len(payload)
            report.ideal_bits += bits
            logger.debug("coded %s: %d letters, %d bytes", record.id, len(record.sequence), len(payload))
        writer.close(content.digest())


def decompress(model_dir: str | Path, in_path: str | Path, out_path: str | Path,
               coding: CodingModel | None = None) -> CodecReport:
    """Restore the FASTA file compressed into ``in_path`` to ``out_path`` (60-column lines).

    Raises ContainerError for a corrupted file or a content checksum mismatch (then ``out_path`` is not
    written) and ModelMismatchError when ``model_dir`` is not the model that compressed it.
    """
    reader = ContainerReader(in_path)
    identity = coding.identity if coding is not None else model_identity(model_dir)
    reader.check_model(identity, model_dir if coding is None else coding.model_dir)
    coding = coding or CodingModel(model_dir)
    try:
        config = CodecConfig(**reader.header["coding"])
    except (KeyError, TypeError):
        raise ContainerError("header has no valid coding parameters", path=in_path) from None
    if reader.header.get("torch") != torch.__version__:
        logger.warning("%s was compressed with torch %s, this is torch %s: decoding may fail its checksum",
                       in_path, reader.header.get("torch"), torch.__version__)
    began = time.perf_counter()
    report = CodecReport(0, 0, 0, 0, Path(in_path).stat().st_size, 0.0, 0.0)
    partial = Path(f"{out_path}.partial")
    try:
        digest = _write_fasta(coding, reader, partial, config, report)
        if digest != reader.content_sha256:
            raise ContainerError("decoded content does not match the stored sha256: the file was made on "
                                 "another machine or torch build (floating-point results differ) or is "
                                 "damaged; decompress where it was compressed", path=in_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out_path)
    report.seconds = time.perf_counter() - began
    return report


def _write_fasta(coding: CodingModel, reader: ContainerReader, partial: Path, config: CodecConfig,
                 report: CodecReport) -> bytes:
    """Decode every record into the FASTA file ``partial``; return the sha256 of what was written."""
    content = hashlib.sha256()
    with open(partial, "w") as handle, coding_threads(config.threads):
        for stored in reader.records():
            sequence = _restore(coding, stored, config)
            text = fasta_text(stored.id, stored.description, sequence)
            handle.write(text)
            content.update(text.encode())
            report.records += 1
            report.bases += len(sequence)
            report.tokens += stored.n_tokens
            report.payload_bytes += len(stored.payload)
    return content.digest()


def _restore(coding: CodingModel, stored: CodedRecord, config: CodecConfig) -> str:
    streams: SideStreams = stored.streams
    symbols = decode_tokens(coding, stored.payload, stored.n_tokens, config) if stored.n_tokens else \
        np.zeros(0, dtype=np.int64)
    core = coding.text(symbols)
    if len(core) != streams.core_length:
        raise ContainerError(f"record {stored.id!r}: decoded {len(core)} bases, expected "
                             f"{streams.core_length}; the file is damaged or was made with another setup",
                             path=None)
    return join_record(core, streams)
