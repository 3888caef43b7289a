"""Coding a stream of symbols in lockstep lanes, block by block, each (block, lane) model-coded or 2-bit.

The symbol stream (all records' A/C/G/T tokens, in file order) is cut into ``L`` contiguous lanes
(:func:`bioLM.compression.stepper.lane_sizes`) that step together: step ``t`` predicts symbol ``t`` of
every lane in one batch. Steps are grouped into blocks of ``block_steps``. The encoder buffers a block's
probabilities, then chooses per lane: model coding when its cost (``-log2 p``, plus a margin for
quantization) is below the fixed-width code, else the fixed-width fallback (2 bits per base for a
per-base tokenizer). So a file is never larger than 2-bit packing plus its fixed overhead. The choice of
every (block, lane) is stored (``model_mask``); model-coded symbols go to one range-coded stream in
step-major order, fallback symbols to a packed stream in (block, lane, step) order.

``after_block(grid, start, end)`` (adaptive mode) runs every ``hook_steps`` steps on both sides with the
symbols ``grid[:, start:end]`` (``-1`` past the end of a lane) just coded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from bioLM.compression.coder import RangeDecoder, RangeEncoder, pack_symbols, symbol_width, unpack_symbols
from bioLM.compression.match import MatchModel
from bioLM.compression.stepper import lane_sizes
from bioLM.tokenization.special import PAD_ID

AfterBlock = Callable[[np.ndarray, int, int], None]
MARGIN_BITS = 0.01
"""Extra bits per model-coded symbol when choosing against the fallback (quantization, coder flush)."""


@dataclass
class CodedStream:
    """What the lane coder produces. ``model_mask``: bool ``(blocks, L)``, True = model-coded."""

    payload: bytes
    fallback: bytes
    model_mask: np.ndarray
    ideal_bits: float
    model_bits: float = 0.0
    """``-log2 p`` of every symbol under the model, fallback blocks included (the model-only figure)."""


def lane_grid(symbols: np.ndarray, lanes: int, min_lane_tokens: int) -> np.ndarray:
    """The stream as a ``(L, steps)`` grid of symbols, ``-1`` where a (shorter) lane has ended."""
    sizes = lane_sizes(len(symbols), lanes, min_lane_tokens)
    grid = np.full((len(sizes), sizes[0]), -1, dtype=np.int64)
    start = 0
    for lane, size in enumerate(sizes):
        grid[lane, :size] = symbols[start:start + size]
        start += size
    return grid


def stream_of(grid: np.ndarray) -> np.ndarray:
    """Inverse of :func:`lane_grid`."""
    return grid[grid >= 0]


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """Softmax of alphabet logits ``(L, V)`` in fp32, as numpy (the coder's input on both sides). Computed over
    the lane-major transpose: torch's softmax over a short last dimension (V = 4) is ~6x slower per step."""
    return torch.softmax(logits.float().T, dim=0).T.numpy()


def _feed(stepper, alphabet_ids: np.ndarray, column: np.ndarray) -> torch.Tensor:
    ids = np.where(column >= 0, alphabet_ids[np.maximum(column, 0)], PAD_ID)
    return stepper.feed(torch.as_tensor(ids, dtype=torch.long))


def complement_of(texts: list[str]) -> np.ndarray | None:
    """Symbol -> symbol of its reverse complement, when every token of the alphabet has one in it."""
    pairs = str.maketrans("ACGT", "TGCA")
    index = {text: i for i, text in enumerate(texts)}
    reverse = [index.get(text.translate(pairs)[::-1], -1) for text in texts]
    return None if -1 in reverse or any(len(t) != 1 for t in texts) else np.array(reverse, dtype=np.int64)


@dataclass
class World:
    """The copy model's view across streams (:mod:`bioLM.compression.streams`): ``grid`` ``(all lanes, width)``
    holds every stream's lanes, this stream's are rows ``offset .. offset + L - 1``; ``sync(end)`` (decoding)
    returns once every stream has coded its columns before ``end``. Default: this stream alone."""

    grid: np.ndarray
    offset: int = 0
    sync: Callable[[int], None] | None = None


def _match(world: World, lanes: int, vocab: int, order: int, texts: list[str] | None) -> MatchModel | None:
    complement = complement_of(texts) if texts else None
    rows, width = world.grid.shape
    return MatchModel(lanes, width, vocab, order, complement=complement, offset=world.offset,
                      world_rows=rows) if order > 0 else None


def _end_block(world: World, match: MatchModel | None, start: int, end: int, on_block) -> None:
    """After a block: wait for the other streams (decoding), index their block, report progress."""
    if world.sync is not None:
        world.sync(end)
    if match is not None:
        match.absorb(world.grid, start, end)
    if on_block is not None:
        on_block(end)


def _after_steps(after_block: AfterBlock | None, every: int, grid: np.ndarray, t: int, steps: int) -> None:
    """Call the hook after every ``every`` steps (and after the last one) with the window just coded."""
    if after_block is not None and ((t + 1) % every == 0 or t + 1 == steps):
        after_block(grid, t + 1 - ((t % every) + 1), t + 1)


def encode_grid(stepper, alphabet_ids: np.ndarray, grid: np.ndarray, block_steps: int,
                after_block: AfterBlock | None = None, match_order: int = 0, hook_steps: int = 0,
                texts: list[str] | None = None, on_block: Callable[[int], None] | None = None,
                world: World | None = None) -> CodedStream:
    """Code a ``(L, steps)`` grid (see the module docstring); ``match_order > 0`` mixes in the copy model of
    :mod:`bioLM.compression.match` with contexts of that many symbols (over ``world``: every stream's lanes,
    these included); ``on_block(steps done)`` after each block (progress)."""
    lanes, steps = grid.shape
    vocab = len(alphabet_ids)
    world = world or World(grid)
    match = _match(world, lanes, vocab, match_order, texts)
    width = symbol_width(vocab)
    encoder, fallback, masks, ideal, model_bits = RangeEncoder(), [], [], 0.0, 0.0
    with torch.inference_mode():
        logits = stepper.start()
    for start in range(0, steps, block_steps):
        end = min(steps, start + block_steps)
        probs = np.empty((end - start, lanes, vocab), dtype=np.float32)  # (T, L, V)
        with torch.inference_mode():
            for t in range(start, end):
                probs[t - start] = probabilities(logits) if match is None else \
                    match.mix(probabilities(logits), world.grid)
                if match is not None:
                    match.update(world.grid, t)
                _after_steps(after_block, hook_steps or block_steps, grid, t, steps)
                if t + 1 < steps:
                    logits = _feed(stepper, alphabet_ids, grid[:, t])
        block = grid[:, start:end].T  # (T, L)
        valid = block >= 0
        chosen = np.take_along_axis(probs, np.maximum(block, 0)[..., None], 2)[..., 0]  # (T, L)
        bits = np.where(valid, -np.log2(np.maximum(chosen, 1e-30)), 0.0).sum(0)  # (L,)
        model = bits + MARGIN_BITS * valid.sum(0) < width * valid.sum(0)
        coded = valid & model[None, :]
        encoder.encode(block[coded], probs[coded])
        ideal += float(bits[model].sum()) + width * int(valid[:, ~model].sum())
        model_bits += float(bits.sum())
        fallback.append(grid[~model, start:end][grid[~model, start:end] >= 0])
        masks.append(model)
        _end_block(world, match, start, end, on_block)
    rest = np.concatenate(fallback) if fallback else np.zeros(0, dtype=np.int64)
    return CodedStream(encoder.finish(), pack_symbols(rest, width),
                       np.array(masks, dtype=bool).reshape(-1, lanes), ideal, model_bits)


def decode_grid(stepper, alphabet_ids: np.ndarray, sizes: list[int], coded: CodedStream, block_steps: int,
                after_block: AfterBlock | None = None, match_order: int = 0, hook_steps: int = 0,
                texts: list[str] | None = None, on_block: Callable[[int], None] | None = None,
                world: World | None = None) -> np.ndarray:
    """Inverse of :func:`encode_grid`: the ``(L, steps)`` grid for lanes of ``sizes`` (rows of ``world.grid``,
    filled with -1, when given)."""
    lanes, steps = len(sizes), sizes[0]
    world = world or World(np.full((lanes, steps), -1, dtype=np.int64))
    grid = world.grid[world.offset:world.offset + lanes, :steps]
    match = _match(world, lanes, len(alphabet_ids), match_order, texts)
    width = symbol_width(len(alphabet_ids))
    lengths = np.asarray(sizes)
    n_fallback = sum(int(np.clip(lengths[~model] - start, 0, block_steps).sum())
                     for start, model in zip(range(0, steps, block_steps), coded.model_mask))
    fallback, taken = unpack_symbols(coded.fallback, n_fallback, width), 0
    decoder = RangeDecoder(coded.payload)
    with torch.inference_mode():
        logits = stepper.start()
    for index, start in enumerate(range(0, steps, block_steps)):
        end, model = min(steps, start + block_steps), coded.model_mask[index]
        for lane in np.flatnonzero(~model).tolist():
            count = int(np.clip(lengths[lane] - start, 0, end - start))
            grid[lane, start:start + count] = fallback[taken:taken + count]
            taken += count
        with torch.inference_mode():
            for t in range(start, end):
                rows = model & (lengths > t)
                probs = probabilities(logits) if match is None else match.mix(probabilities(logits), world.grid)
                grid[rows, t] = decoder.decode(probs[rows])
                if match is not None:
                    match.update(world.grid, t)
                _after_steps(after_block, hook_steps or block_steps, grid, t, steps)
                if t + 1 < steps:
                    logits = _feed(stepper, alphabet_ids, grid[:, t])
        _end_block(world, match, start, end, on_block)
    return grid
