"""``compress_fasta`` / ``decompress``: a FASTA file <-> a ``.blm`` container, coded with a causal LM.

The file is split into its byte layout (:mod:`bioLM.compression.layout`: headers verbatim, line lengths,
CRLF, blank lines, final newline), its letter side streams (:mod:`bioLM.compression.sidestreams`: case and
non-ACGT runs) and the A/C/G/T core, which is tokenized, cut into independent streams coded side by side
(:mod:`bioLM.compression.streams`) and, in each, coded in lockstep lanes (:mod:`bioLM.compression.lanes`)
with the model's next-token probabilities and constriction's range coder, block by block, falling back to
2-bit where the model would spend more. ``decompress`` restores the file byte for byte (``cmp`` identical);
gzip input is restored uncompressed. The model runs on the CPU on one torch thread per stream, in the
precision recorded in the file: encoder and decoder compute bit-identical probabilities.
"""

from __future__ import annotations

import contextlib
import copy
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
from bioLM.compression.lanes import CodedStream, World, decode_grid, encode_grid, lane_grid, stream_of
from bioLM.compression.layout import Layout, join_file, read_raw, split_file
from bioLM.compression.sidestreams import (
    LetterStreams,
    join_letters,
    read_varint,
    split_letters,
    write_varints,
)
from bioLM.compression.stepper import CodingAlphabet, LaneStepper, base_token_ids, lane_sizes, start_token
from bioLM.compression.streams import run_streams, shared_array, stream_sizes
from bioLM.errors import ConfigError
from bioLM.hardware import PRECISIONS
from bioLM.io.atomic import atomic_write
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
    """Independent streams the bases are cut into, coded side by side in worker processes (one core and one
    torch thread each; like ``xz -T``, the file depends on it and records it). Decoding runs the same streams on
    as many cores as it has. Files under ``64 * min_lane_tokens`` tokens per stream use fewer streams. The copy
    model sees every stream's coded blocks; in adaptive mode each stream trains its own model (2 streams: +0.01%
    bits on E. coli W, +0.9% on human chr22, +1.2% adaptive on chr22; RESULTS.md)."""
    block_steps: int = 256
    """Steps per block: each (block, lane) is model-coded or 2-bit, whichever is smaller."""
    context: int | None = None
    """Coding context in tokens (at most the model's): a sliding window for bioLM's model; None = the model's
    ``block_size``. 32 with 1024 lanes is the fast setting for a ``tiny``-shaped model (~2.7x context 256 in
    bf16; +0.8% bits for a model trained at 256, RESULTS.md)."""
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

    def stepper(self, lanes: int, context: int | None = None, precision: str = "fp32"):
        """The lane stepper for this model: for bioLM's model, static KV caches (fp32 or bf16); for others, the
        HF cache path in fp32."""
        context = min(context or self.context, self.context)
        if self.static:
            from bioLM.compression.static_stepper import StaticLaneStepper

            dtype = torch.bfloat16 if self.precision(precision) == "bf16" else torch.float32
            return StaticLaneStepper(self.model, self.alphabet.ids, lanes, context, self.start_id, dtype)
        return LaneStepper(self.model, self.alphabet.ids, lanes, context, self.start_id)

    def fresh(self, adaptive: bool) -> CodingModel:
        """This coding model, with its own copy of the weights when ``adaptive`` (training changes them in place:
        each stream starts from the same weights)."""
        if not adaptive:
            return self
        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model)
        return twin


def check_output(out_path: str | Path) -> Path:
    """Refuse an output path that is a directory or whose parent directory does not exist."""
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ConfigError(f"output {out_path} is a directory; give a file path")
    if not out_path.parent.is_dir():
        raise ConfigError(f"output {out_path}: directory {out_path.parent} does not exist; create it first")
    return out_path


def compressed_model_bytes(model_dir: Path) -> int:
    """Size of the model's ``*.safetensors`` weights compressed with xz -9 (the cost of shipping them)."""
    return sum(len(lzma.compress(path.read_bytes(), preset=9)) for path in sorted(model_dir.glob("*.safetensors")))


def _side_section(layout: Layout, streams: LetterStreams, masks: list[np.ndarray]) -> bytes:
    bits = np.concatenate([mask.ravel() for mask in masks]) if masks else np.zeros(0, dtype=bool)
    parts = [layout.to_bytes(), streams.to_bytes(), np.packbits(bits).tobytes()]
    raw = b"".join(write_varints([len(part)]) + part for part in parts)
    return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=SIDE_FILTERS)


def _read_side(data: bytes, mask_shapes: list[tuple[int, int]]) -> tuple[Layout, LetterStreams, list[np.ndarray]]:
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
    bits = np.unpackbits(np.frombuffer(parts[2], dtype=np.uint8)).astype(bool)
    masks, taken = [], 0
    for blocks, lanes in mask_shapes:
        masks.append(bits[taken:taken + blocks * lanes].reshape(blocks, lanes))
        taken += blocks * lanes
    return Layout.from_bytes(parts[0]), streams, masks


def _framed(parts: list[bytes]) -> bytes:
    """Several byte strings in one section: their sizes (varints), then their bytes."""
    return write_varints([len(part) for part in parts]) + b"".join(parts)


def _unframed(data: bytes, count: int) -> list[bytes]:
    sizes, offset = [], 0
    for _ in range(count):
        size, offset = read_varint(data, offset)
        sizes.append(size)
    if offset + sum(sizes) != len(data):
        raise ValueError(f"section of {len(data)} bytes does not hold {count} streams")
    parts = []
    for size in sizes:
        parts.append(data[offset:offset + size])
        offset += size
    return parts


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


def _stream_lanes(config: CodecConfig, sizes: list[int]) -> int:
    """Most lanes of each stream: ``config.lanes`` shared among the streams."""
    return max(1, config.lanes // max(1, len(sizes)))


def _code_stream(coding: CodingModel, grid: np.ndarray | None, config: CodecConfig, context: int, adaptive,
                 hook_steps: int, world: World, coded: CodedStream | None = None, sizes: list[int] | None = None,
                 name: str = "stream 1/1"):
    """Encode one stream's ``(L, steps)`` grid (``coded`` None) or decode ``coded`` into lanes of ``sizes``:
    its own stepper and (adaptive) its own copy of the model and optimizer; the copy model sees ``world``.
    Logs progress."""
    from bioLM.compression.adaptive import OnlineTrainer

    coding = coding.fresh(adaptive is not None)
    hook = OnlineTrainer(coding.model, coding.alphabet.ids, adaptive) if adaptive else None
    lanes = len(sizes) if coded is not None else grid.shape[0]
    stepper = coding.stepper(lanes, context, config.precision)
    steps = sizes[0] if coded is not None else grid.shape[1]
    progress = _Progress(f"{'de' if coded is not None else ''}coding {name}", steps,
                         sum(sizes) if coded is not None else int((grid >= 0).sum()))
    arguments = (config.block_steps, hook, config.match_order, hook_steps, coding.alphabet.texts, progress, world)
    if coded is None:
        return encode_grid(stepper, coding.alphabet.ids, grid, *arguments)
    return stream_of(decode_grid(stepper, coding.alphabet.ids, sizes, coded, *arguments)).astype(np.int8)


def _world_rows(lane_counts: list[int]) -> list[int]:
    """First world row of each stream."""
    return np.cumsum([0, *lane_counts])[:-1].tolist()


def _stream_grids(symbols: np.ndarray, sizes: list[int], config: CodecConfig
                  ) -> tuple[list[np.ndarray], list[int], np.ndarray]:
    """Each stream's ``(L_s, steps_s)`` lane grid, its first row in the world, and the world: every stream's
    lanes stacked, ``(sum L_s, max steps_s)`` int8, -1 where a lane has ended (what the copy model reads)."""
    bounds = np.cumsum([0, *sizes])
    grids = [lane_grid(symbols[bounds[i]:bounds[i + 1]], _stream_lanes(config, sizes), config.min_lane_tokens)
             for i in range(len(sizes))]
    offsets = _world_rows([grid.shape[0] for grid in grids])
    world = np.full((sum(grid.shape[0] for grid in grids), max(grid.shape[1] for grid in grids)), -1, np.int8)
    for offset, grid in zip(offsets, grids):
        world[offset:offset + grid.shape[0], :grid.shape[1]] = grid
    return grids, offsets, world


class _Progress:
    """``on_block`` callback: one log line each time another tenth of a stream is done (long genomes)."""

    def __init__(self, what: str, steps: int, symbols: int) -> None:
        self.what, self.steps, self.symbols = what, steps, symbols
        self.began, self.next = time.perf_counter(), 0.1

    def __call__(self, done: int) -> None:
        fraction = done / max(self.steps, 1)
        if fraction + 1e-9 >= self.next and fraction < 1.0:
            rate = fraction * self.symbols / 1e3 / max(time.perf_counter() - self.began, 1e-9)
            logger.info("%s: %d%% of %s symbols, %.0f k symbols/s", self.what, int(100 * fraction),
                        f"{self.symbols:,}", rate)
            self.next = np.floor(fraction * 10 + 1e-9) / 10 + 0.1


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
    hook_steps = min(config.block_steps, context) if adaptive else 0
    config = replace(config, precision=coding.precision(config.precision))
    sizes = stream_sizes(len(symbols), config.threads, config.min_lane_tokens)
    grids, offsets, world = _stream_grids(symbols, sizes, config)

    def encode(index: int, _) -> CodedStream:
        return _code_stream(coding, grids[index], config, context, adaptive, hook_steps,
                            World(world, offsets[index]), name=f"stream {index + 1}/{len(sizes)}")

    coded = run_streams(encode, len(sizes)) if len(symbols) else []
    side = _side_section(layout, streams, [part.model_mask for part in coded])
    header = {"mode": "adaptive" if adaptive else "pretrained", "model_sha256": coding.identity,
              "model_name": coding.model_dir.name, "coding": asdict(config), "context": context,
              "hook_steps": hook_steps, "stepper": coding.stepper_kind(), "symbols": len(symbols),
              "streams": sizes if len(symbols) else [], "mask_shapes": [list(part.model_mask.shape) for part in coded],
              "gzip_input": was_gzip, "bioLM": __version__, **online.runtime(),
              "adaptive": asdict(adaptive) if adaptive else None, "from_model": model_dir is not None}
    payload, fallback = _framed([part.payload for part in coded]), _framed([part.fallback for part in coded])
    atomic_write(out_path, lambda path: write_container(path, header, [side, fallback, payload],
                                                         hashlib.sha256(raw).digest()))
    masks = np.concatenate([part.model_mask.ravel() for part in coded]) if coded else np.zeros(0)
    report = CodecReport(records=len(layout.headers), letters=len(letters), bases=len(core), tokens=len(symbols),
                         payload_bytes=len(payload), fallback_bytes=len(fallback),
                         side_bytes=len(side), file_bytes=out_path.stat().st_size,
                         ideal_bits=sum(part.ideal_bits for part in coded),
                         model_bits=sum(part.model_bits for part in coded),
                         seconds=time.perf_counter() - began, extra={"streams": len(coded)})
    report.fallback_blocks = float(1 - masks.mean()) if masks.size else 0.0
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
        n_symbols, context = header["symbols"], header["context"]
        mask_shapes = [(int(blocks), int(lanes)) for blocks, lanes in header["mask_shapes"]]
    except (KeyError, TypeError, ValueError):
        raise ContainerError("header has no valid coding parameters", path=in_path) from None
    if adaptive is not None:
        online.check_runtime(header, in_path)
    elif config.precision == "bf16":
        online.check_runtime(header, in_path, "bf16-coded", "the model's bf16 probabilities")
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
    sizes = stream_sizes(n_symbols, config.threads, config.min_lane_tokens) if n_symbols else []
    lanes = [lane_sizes(size, _stream_lanes(config, sizes), config.min_lane_tokens) for size in sizes]
    try:
        if header.get("streams") != sizes or len(mask_shapes) != len(sizes):
            raise ValueError(f"streams {header.get('streams')} and {len(mask_shapes)} block masks do not fit "
                             f"{n_symbols} symbols in {sizes}")
        layout, streams, masks = _read_side(reader.sections[0], mask_shapes)
        coded = [CodedStream(payload, fallback, mask, 0.0) for payload, fallback, mask in
                 zip(_unframed(reader.sections[2], len(sizes)), _unframed(reader.sections[1], len(sizes)), masks)]
    except (ValueError, IndexError) as error:
        raise ContainerError(f"malformed side section ({error})", path=in_path) from None

    offsets = _world_rows([len(part) for part in lanes])
    width = max((part[0] for part in lanes), default=0)
    world = shared_array((sum(len(part) for part in lanes), width), -1)
    blocks = -(-width // config.block_steps)

    def decode(index: int, barrier) -> np.ndarray:
        sync = None if barrier is None else (lambda end: barrier.wait())
        part = _code_stream(coding, None, config, context, adaptive, header["hook_steps"],
                            World(world, offsets[index], sync), coded[index], lanes[index],
                            f"stream {index + 1}/{len(sizes)}")
        for _ in range(blocks - len(coded[index].model_mask) if barrier is not None else 0):
            barrier.wait()  # a shorter stream keeps meeting the others until they finish
        return part

    with _decoding_errors(in_path):
        symbols = np.concatenate(run_streams(decode, len(sizes), together=True)) if n_symbols else \
            np.zeros(0, dtype=np.int8)
    try:
        letters = join_letters(coding.letters(symbols.astype(np.int64)), streams)
        data = join_file(layout, letters.tobytes())
    except ValueError as error:
        raise ContainerError(f"decoded data do not fit the stored layout ({error})", path=in_path) from None
    if hashlib.sha256(data).digest() != reader.content_sha256:
        raise ContainerError("decoded content does not match the stored sha256: the file was made on another "
                             "machine or torch build (floating-point results differ) or is damaged; "
                             "decompress where it was compressed", path=in_path)
    atomic_write(out_path, lambda path: path.write_bytes(data))
    return CodecReport(records=len(layout.headers), letters=streams.length, bases=len(letters) - int(streams.lengths.sum()),
                       tokens=int(n_symbols), payload_bytes=len(reader.sections[2]), fallback_bytes=len(reader.sections[1]),
                       file_bytes=Path(in_path).stat().st_size, seconds=time.perf_counter() - began)
