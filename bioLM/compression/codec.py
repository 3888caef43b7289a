"""``compress_fasta`` / ``decompress``: a FASTA file <-> a ``.blm`` container, coded with a causal LM.

The file is split into its byte layout (:mod:`bioLM.compression.layout`: headers verbatim, line lengths,
CRLF, blank lines, final newline), its letter side streams (:mod:`bioLM.compression.sidestreams`: case and
non-ACGT runs) and the A/C/G/T core, which is tokenized and coded in lockstep lanes
(:mod:`bioLM.compression.lanes`) with the model's next-token probabilities and constriction's range coder,
block by block, falling back to 2-bit where the model would spend more. ``decompress`` restores the file
byte for byte (``cmp`` identical); gzip input is restored uncompressed. The model runs in fp32 on the CPU
with a fixed thread count (recorded in the file): encoder and decoder compute bit-identical probabilities.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import lzma
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bioLM import __version__
from bioLM.compression.container import ContainerError, ContainerReader, model_identity, write_container
from bioLM.compression.lanes import CodedStream, decode_grid, encode_grid, lane_grid, stream_of
from bioLM.compression.layout import Layout, join_file, read_raw, split_file
from bioLM.compression.sidestreams import (
    LetterStreams,
    join_letters,
    read_varint,
    split_letters,
    write_varints,
)
from bioLM.compression.stepper import CodingAlphabet, LaneStepper, base_token_ids, lane_sizes, start_token
from bioLM.errors import ConfigError
from bioLM.hardware import PRECISIONS
from bioLM.model.loading import model_context

logger = logging.getLogger(__name__)
SIDE_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
"""xz (raw LZMA2, no container overhead) for the layout, letter streams and block choices."""


@dataclass
class CodecConfig:
    """Coding parameters, stored in the container header (decompression reads them from there)."""

    lanes: int = 256
    """Most lanes (batch rows) the symbol stream is cut into; 1 = one left-to-right pass (best ratio, slowest)."""
    min_lane_tokens: int = 1024
    """Fewest tokens per lane: short files use fewer lanes."""
    threads: int = 2
    """Threads while coding (decompression uses the same: floating-point reproducibility): for bioLM's model,
    this many lane groups stepped side by side, one torch thread each; for other models, torch's intra-op
    threads. 2 is meant for an idle 2-core CPU; on a CPU busy with other work 1 is faster (RESULTS.md)."""
    block_steps: int = 256
    """Steps per block: each (block, lane) is model-coded or 2-bit, whichever is smaller."""
    context: int | None = None
    """Coding context in tokens (at most the model's); None = the model's ``block_size``. 64 is the fastest for
    a ``tiny``-shaped model (~1.8x context 256 in bf16; +0.45% bits for a model trained at 256, RESULTS.md)."""
    match_order: int = 12
    """Copy model (:mod:`bioLM.compression.match`) mixed in, on contexts of this many symbols; 0 = off."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """Weights and KV cache while coding: 'auto' (bf16 where the CPU has bf16 matrix units, see
    :func:`bioLM.hardware.fast_bf16`; else fp32), 'bf16' or 'fp32'. The container records the result; a bf16
    file decodes only with the same torch build on the same kind of CPU (the decoder refuses elsewhere)."""


@dataclass
class CodecReport:
    """What a compression or decompression did. ``bases``: A/C/G/T letters coded by the model; ``letters``:
    all sequence letters; ``model_bytes``: the model's weights compressed with xz (0 in adaptive mode from
    random init: nothing is shipped); ``ideal_bits``: ``-log2`` of the coded probabilities (2 bits per base
    in fallback blocks); ``model_bits``: ``-log2 p`` of every base under the model (no fallback)."""

    records: int = 0
    letters: int = 0
    bases: int = 0
    tokens: int = 0
    payload_bytes: int = 0
    fallback_bytes: int = 0
    side_bytes: int = 0
    file_bytes: int = 0
    model_bytes: int = 0
    fallback_blocks: float = 0.0
    ideal_bits: float = 0.0
    model_bits: float = 0.0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def bits_per_base(self) -> float:
        """Container size in bits over bases (0 for no bases)."""
        return 8.0 * self.file_bytes / self.bases if self.bases else 0.0

    @property
    def payload_bits_per_base(self) -> float:
        """Coded bases only (range-coded + 2-bit blocks), in bits per base."""
        return 8.0 * (self.payload_bytes + self.fallback_bytes) / self.bases if self.bases else 0.0

    @property
    def with_model_bits_per_base(self) -> float:
        """Container plus the compressed model weights, in bits per base (the decompressor's cost counted)."""
        return 8.0 * (self.file_bytes + self.model_bytes) / self.bases if self.bases else 0.0

    def as_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        out.update(bits_per_base=self.bits_per_base, payload_bits_per_base=self.payload_bits_per_base,
                   with_model_bits_per_base=self.with_model_bits_per_base,
                   kb_per_s=self.letters / 1000 / max(self.seconds, 1e-9), **self.extra)
        return out


def load_causal_lm(model_dir: str | Path):
    """(model in fp32 eval mode on the CPU, tokenizer) of a model directory, through the one loader
    (:func:`bioLM.model.loading.load`); a masked LM is refused (it gives no next-token probabilities)."""
    from bioLM.model.loading import load

    loaded = load(model_dir, device="cpu", precision="fp32")  # the decoder must reproduce every probability
    loaded.require("causal", "compress")
    return loaded.model, loaded.tokenizer


class CodingModel:
    """A model ready for coding: fp32 CPU model, tokenizer, coding alphabet, identity."""

    def __init__(self, model_dir: str | Path | None = None, *, model=None, tokenizer=None,
                 identity: str | None = None) -> None:
        if model is None:
            self.model_dir = Path(model_dir)
            model, tokenizer = load_causal_lm(self.model_dir)  # the loader's checks come first
            self.identity = model_identity(self.model_dir)
        else:
            self.model_dir, self.identity = Path(model_dir or "."), identity or ""
        self.model, self.tokenizer = model, tokenizer
        self.context = model_context(model, tokenizer)
        if self.context is None:
            raise ConfigError(f"{self.model_dir}: the model config does not say its context length")
        self.start_id = start_token(tokenizer, self.model_dir)
        self.alphabet = CodingAlphabet.from_tokenizer(tokenizer, self.model_dir)
        self._index = self.alphabet.index_of()
        self._single = all(len(t) == 1 for t in self.alphabet.texts)
        self._byte_table = np.full(256, -1, dtype=np.int64)
        if self._single:
            for index, text in enumerate(self.alphabet.texts):
                self._byte_table[ord(text)] = index
        self._spelling = [text.encode() for text in self.alphabet.texts]

    def symbols(self, core: str | np.ndarray, record: str = "the input") -> np.ndarray:
        """Symbol indices (into the coding alphabet) of the A/C/G/T letters ``core`` (str or uint8 array)."""
        raw = np.frombuffer(core.encode("ascii"), dtype=np.uint8) if isinstance(core, str) else core
        if self._single:
            symbols = self._byte_table[raw]
        else:
            ids = base_token_ids(self.tokenizer, raw.tobytes().decode("ascii"))
            symbols = np.where(ids < len(self._index), self._index[np.minimum(ids, len(self._index) - 1)], -1)
        if (symbols < 0).any() or self.letters(symbols).tobytes() != raw.tobytes():
            raise ConfigError(f"{record}: the tokenizer of {self.model_dir} does not spell these bases with "
                              "A/C/G/T tokens only, so they cannot be coded losslessly; use a model with a "
                              "char or BPE tokenizer")
        return symbols

    def letters(self, symbols: np.ndarray) -> np.ndarray:
        """The bases (uint8) spelled by ``symbols``."""
        if self._single:
            return np.frombuffer("".join(self.alphabet.texts).encode(), dtype=np.uint8)[symbols]
        return np.frombuffer(b"".join(self._spelling[s] for s in symbols.tolist()), dtype=np.uint8)

    def text(self, symbols: np.ndarray) -> str:
        """The bases spelled by ``symbols``, as a string."""
        return self.letters(symbols).tobytes().decode("ascii")

    @property
    def static(self) -> bool:
        """True for bioLM's own model (the static-cache stepper, fp32 or bf16); else the generic HF path (fp32)."""
        from bioLM.model import BioLMForCausalLM

        return isinstance(self.model, BioLMForCausalLM)

    def stepper_kind(self) -> str:
        """Which arithmetic codes with this model (stored in the container, checked when decoding)."""
        from bioLM.compression.static_stepper import STEPPER_VERSION

        return f"static-{STEPPER_VERSION}" if self.static else "hf-2"

    def precision(self, precision: str) -> str:
        """``precision`` ('auto', 'bf16', 'fp32') resolved for this model and CPU: 'bf16' or 'fp32'."""
        from bioLM.hardware import autocast_dtype

        return "bf16" if autocast_dtype(precision, "cpu") is not None and self.static else "fp32"

    def stepper(self, lanes: int, context: int | None = None, precision: str = "fp32", threads: int = 1):
        """The lane stepper for this model: for bioLM's model, static KV caches (fp32 or bf16) in ``threads``
        lane groups run side by side (:class:`~bioLM.compression.static_stepper.LaneGroups`, one torch thread
        each); for others, the HF cache path in fp32 (run it under ``threads`` torch threads)."""
        context = min(context or self.context, self.context)
        if self.static:
            from bioLM.compression.static_stepper import LaneGroups, StaticLaneStepper

            dtype = torch.bfloat16 if self.precision(precision) == "bf16" else torch.float32
            return LaneGroups(lambda size: StaticLaneStepper(self.model, self.alphabet.ids, size, context,
                                                             self.start_id, dtype), lanes, threads)
        return LaneStepper(self.model, self.alphabet.ids, lanes, context, self.start_id)

    @contextlib.contextmanager
    def stepping(self, lanes: int, context: int, config: CodecConfig, hook=None):
        """(stepper, hook) for coding ``lanes`` lanes under ``config`` (precision, threads), torch's thread count
        set for them (one per lane group for bioLM's model; the hook, adaptive training, runs with
        ``config.threads``), the worker threads stopped afterwards."""
        stepper = self.stepper(lanes, context, config.precision, config.threads)
        if hook is not None and self.static:
            hook = _with_threads(hook, config.threads)
        try:
            with _threads(1 if self.static else config.threads):
                yield stepper, hook
        finally:
            getattr(stepper, "close", lambda: None)()


@contextlib.contextmanager
def _threads(threads: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _with_threads(hook, threads: int):
    def run(*args):
        with _threads(threads):
            hook(*args)
    return run


def check_output(out_path: str | Path) -> Path:
    """Refuse an output path that is a directory or whose parent directory does not exist."""
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ConfigError(f"output {out_path} is a directory; give a file path")
    if not out_path.parent.is_dir():
        raise ConfigError(f"output {out_path}: directory {out_path.parent} does not exist; create it first")
    return out_path


def _atomic_write(out_path: Path, write) -> None:
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        write(partial)
        partial.replace(out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def compressed_model_bytes(model_dir: Path) -> int:
    """Size of the model's ``*.safetensors`` weights compressed with xz -9 (the cost of shipping them)."""
    return sum(len(lzma.compress(path.read_bytes(), preset=9)) for path in sorted(model_dir.glob("*.safetensors")))


def _side_section(layout: Layout, streams: LetterStreams, mask: np.ndarray) -> bytes:
    parts = [layout.to_bytes(), streams.to_bytes(), np.packbits(mask.ravel()).tobytes()]
    raw = b"".join(write_varints([len(part)]) + part for part in parts)
    return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=SIDE_FILTERS)


def _read_side(data: bytes, mask_shape: tuple[int, int]) -> tuple[Layout, LetterStreams, np.ndarray]:
    try:
        raw = lzma.decompress(data, format=lzma.FORMAT_RAW, filters=SIDE_FILTERS)
    except lzma.LZMAError as error:
        raise ValueError(f"side section is not valid xz data ({error})") from None
    parts, offset = [], 0
    for _ in range(3):
        size, offset = read_varint(raw, offset)
        parts.append(raw[offset:offset + size])
        offset += size
    streams, _ = LetterStreams.from_bytes(parts[1])
    count = mask_shape[0] * mask_shape[1]
    mask = np.unpackbits(np.frombuffer(parts[2], dtype=np.uint8))[:count].astype(bool).reshape(mask_shape)
    return Layout.from_bytes(parts[0]), streams, mask


def _start_model(model_dir, coding: CodingModel | None, adaptive):
    """The coding model: given, loaded from ``model_dir``, or (adaptive without a model) randomly initialized."""
    if coding is not None and adaptive is None:  # adaptive training changes the weights: load a fresh copy
        return coding
    if coding is not None:
        model_dir = coding.model_dir
    if model_dir is None:
        if adaptive is None:
            raise ConfigError("give a model directory (--model), or --adaptive to start from random init")
        from bioLM.compression.adaptive import random_init

        model, tokenizer, identity = random_init(adaptive)
        return CodingModel(f"random-{adaptive.preset}", model=model, tokenizer=tokenizer, identity=identity)
    return CodingModel(model_dir)


@contextlib.contextmanager
def _decoding_errors(path):
    try:
        yield
    except ValueError as error:
        raise ContainerError(f"{error}: the file was made on another machine or torch build (floating-point "
                             "results differ) or is damaged; decompress where it was compressed", path=path) from None


def _check_stepper(header: dict, coding: CodingModel, path) -> None:
    """Refuse a file coded by another version of the stepper's arithmetic (its probabilities would differ)."""
    made = header.get("stepper", "static-1" if coding.static else "hf-1")  # files from before the field
    # (hf-2: the softmax of the probabilities changed with static-2)
    if made != coding.stepper_kind():
        raise ContainerError(f"made with the {made!r} coder; this bioLM computes probabilities with "
                             f"{coding.stepper_kind()!r}: decompress with the bioLM version that made it "
                             f"({header.get('bioLM')!r})", path=path)


def _validate(config: CodecConfig) -> None:
    if config.match_order < 0:
        raise ConfigError(f"match_order={config.match_order} must be >= 0 (0 = no copy model)")
    for name in ("lanes", "min_lane_tokens", "threads", "block_steps"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name}={getattr(config, name)} must be a positive integer")
    if config.precision not in PRECISIONS:
        raise ConfigError(f"precision={config.precision!r} is not valid; choose one of {', '.join(PRECISIONS)}")
    if config.context is not None and config.context < 2:
        raise ConfigError(f"context={config.context} must be at least 2 tokens")


def compress_fasta(model_dir: str | Path | None, in_path: str | Path, out_path: str | Path,
                   config: CodecConfig | None = None, coding: CodingModel | None = None,
                   adaptive=None) -> CodecReport:
    """Compress the FASTA file ``in_path`` (plain or gzip; gzip is restored uncompressed) into ``out_path``.

    ``coding`` reuses a loaded model. ``adaptive`` (an :class:`~bioLM.compression.adaptive.AdaptiveConfig`)
    trains the model on the bases already coded (from ``model_dir``, or random init when it is None).
    Errors (binary bytes, FASTQ, a bad output path) are raised before anything is written.
    """
    from bioLM.compression import adaptive as online

    config = config or CodecConfig()
    _validate(config)
    out_path = check_output(out_path)
    raw, was_gzip = read_raw(in_path)
    layout, letters = split_file(raw, in_path)
    if was_gzip:
        logger.info("%s is gzip-compressed: decompression restores the uncompressed FASTA bytes", in_path)
    began = time.perf_counter()
    coding = _start_model(model_dir, coding, adaptive)
    core, streams = split_letters(letters)
    symbols = coding.symbols(core)
    context = min(config.context or coding.context, coding.context)
    grid = lane_grid(symbols, config.lanes, config.min_lane_tokens)
    hook_steps = min(config.block_steps, context) if adaptive else 0
    hook = online.OnlineTrainer(coding.model, coding.alphabet.ids, adaptive) if adaptive else None
    config = replace(config, precision=coding.precision(config.precision))
    with coding.stepping(grid.shape[0], context, config, hook) as (stepper, hook):
        coded = encode_grid(stepper, coding.alphabet.ids, grid, config.block_steps, hook, config.match_order,
                            hook_steps, coding.alphabet.texts) \
            if len(symbols) else CodedStream(b"", b"", np.zeros((0, grid.shape[0]), dtype=bool), 0.0)
    side = _side_section(layout, streams, coded.model_mask)
    header = {"mode": "adaptive" if adaptive else "pretrained", "model_sha256": coding.identity,
              "model_name": coding.model_dir.name, "coding": asdict(config), "context": context,
              "hook_steps": hook_steps, "stepper": coding.stepper_kind(), "symbols": len(symbols),
              "mask_shape": list(coded.model_mask.shape),
              "gzip_input": was_gzip, "bioLM": __version__, **online.runtime(),
              "adaptive": asdict(adaptive) if adaptive else None, "from_model": model_dir is not None}
    _atomic_write(out_path, lambda path: write_container(path, header, [side, coded.fallback, coded.payload],
                                                         hashlib.sha256(raw).digest()))
    report = CodecReport(records=len(layout.headers), letters=len(letters), bases=len(core), tokens=len(symbols),
                         payload_bytes=len(coded.payload), fallback_bytes=len(coded.fallback),
                         side_bytes=len(side), file_bytes=out_path.stat().st_size, ideal_bits=coded.ideal_bits,
                         model_bits=coded.model_bits,
                         seconds=time.perf_counter() - began)
    report.fallback_blocks = float(1 - coded.model_mask.mean()) if coded.model_mask.size else 0.0
    if model_dir is not None and coding.model_dir.is_dir():
        report.model_bytes = compressed_model_bytes(coding.model_dir)
    return report


def decompress(model_dir: str | Path | None, in_path: str | Path, out_path: str | Path,
               coding: CodingModel | None = None) -> CodecReport:
    """Restore the file compressed into ``in_path`` to ``out_path``, byte for byte.

    Raises ContainerError for a corrupted file or a content checksum mismatch (``out_path`` is then not
    written) and ModelMismatchError when ``model_dir`` is not the model that compressed it.
    """
    from bioLM.compression import adaptive as online

    reader = ContainerReader(in_path)
    out_path = check_output(out_path)
    header = reader.header
    try:
        config = CodecConfig(**{"precision": "fp32", **header["coding"]})  # files before bf16 coding: fp32
        adaptive = online.AdaptiveConfig(**header["adaptive"]) if header["mode"] == "adaptive" else None
        n_symbols, context, mask_shape = header["symbols"], header["context"], tuple(header["mask_shape"])
    except (KeyError, TypeError):
        raise ContainerError("header has no valid coding parameters", path=in_path) from None
    if adaptive is not None:
        online.check_runtime(header, config.threads, in_path)
    elif config.precision == "bf16":
        online.check_runtime(header, config.threads, in_path, "bf16-coded", "the model's bf16 probabilities")
    elif header.get("torch") != torch.__version__:
        logger.warning("%s was compressed with torch %s, this is torch %s: decoding may fail its checksum",
                       in_path, header.get("torch"), torch.__version__)
    from_model = header.get("from_model", True)
    if from_model:
        if model_dir is None and coding is None:
            raise ConfigError(f"{in_path} was compressed with model {header.get('model_name')!r}: pass it (--model)")
        reader.check_model(coding.identity if coding is not None else model_identity(model_dir),
                           model_dir if coding is None else coding.model_dir)
    began = time.perf_counter()
    coding = _start_model(model_dir if from_model else None, coding if from_model else None, adaptive)
    _check_stepper(header, coding, in_path)
    try:
        layout, streams, mask = _read_side(reader.sections[0], mask_shape)
    except (ValueError, IndexError) as error:
        raise ContainerError(f"malformed side section ({error})", path=in_path) from None
    sizes = lane_sizes(n_symbols, config.lanes, config.min_lane_tokens)
    hook = online.OnlineTrainer(coding.model, coding.alphabet.ids, adaptive) if adaptive else None
    coded = CodedStream(reader.sections[2], reader.sections[1], mask, 0.0)
    with coding.stepping(len(sizes), context, config, hook) as (stepper, hook), _decoding_errors(in_path):
        grid = decode_grid(stepper, coding.alphabet.ids, sizes, coded, config.block_steps, hook, config.match_order,
                           header["hook_steps"], coding.alphabet.texts) if n_symbols else \
            np.zeros((1, 0), dtype=np.int64)
    try:
        letters = join_letters(coding.letters(stream_of(grid)), streams)
        data = join_file(layout, letters.tobytes())
    except ValueError as error:
        raise ContainerError(f"decoded data do not fit the stored layout ({error})", path=in_path) from None
    if hashlib.sha256(data).digest() != reader.content_sha256:
        raise ContainerError("decoded content does not match the stored sha256: the file was made on another "
                             "machine or torch build (floating-point results differ) or is damaged; "
                             "decompress where it was compressed", path=in_path)
    _atomic_write(out_path, lambda path: path.write_bytes(data))
    return CodecReport(records=len(layout.headers), letters=streams.length, bases=len(letters) - int(streams.lengths.sum()),
                       tokens=int(n_symbols), payload_bytes=len(coded.payload), fallback_bytes=len(coded.fallback),
                       file_bytes=Path(in_path).stat().st_size, seconds=time.perf_counter() - began)
