"""A copy (match) model mixed into the network's probabilities: repeats cost far less than 2 bits.

DNA compressors (GeCo, XM, cmix) mix a model that copies from the last occurrence of the current context
with their statistical models; a small transformer with a short context cannot see a repeat 100 kb back.
Here, at every lockstep step and for every lane:

* the hash of the lane's last ``order`` symbols is looked up in a table of earlier positions (all lanes, all
  symbols already coded: both sides know them; with several streams, :mod:`bioLM.compression.streams`, the
  other streams' lanes up to their last exchanged block, :meth:`MatchModel.absorb`); a hit starts a match that
  predicts the symbol that followed;
* the match's reliability is learned online: hit / miss counts per match length (0..31 verified symbols);
* with ``complement`` (per-base alphabets), a reverse-complement occurrence is found too and read backwards
  (inverted repeats: half of a genome's repeats lie on the other strand);
* when the learned hit rate ``P`` beats the network's probability of the predicted symbol, the predicted
  symbol gets ``P`` and the others share ``1 - P`` in the network's proportions; otherwise the network's
  row is kept. A miss ends the match (the next step looks up again).

Everything is integer or float64 numpy run identically by encoder and decoder. A match only ever points at a
symbol already coded (an earlier column of any lane; a backward copy never wraps into the previous lane,
whose last columns may not be coded yet), so the encoder, which knows the whole grid, sees what the decoder
sees. The table is a fixed-size
array (``2**table_bits`` positions); a hash collision only costs bits.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
BUCKETS = 32


class MatchModel:
    """Copy model over a ``(L, steps)`` symbol grid coded column by column (see the module docstring)."""

    def __init__(self, lanes: int, steps: int, vocab: int, order: int = 16, table_bits: int = 22,
                 complement: np.ndarray | None = None, offset: int = 0, world_rows: int | None = None) -> None:
        """``lanes`` own lanes, rows ``offset ..`` of a world grid of ``world_rows`` rows (default: just these)
        and ``steps`` columns; the other rows are other streams', indexed by :meth:`absorb`."""
        self.steps, self.table_bits, self.offset, self.lanes = steps, table_bits, offset, lanes
        self.bits = max(1, int(np.ceil(np.log2(max(vocab, 2)))))
        self.order = max(1, min(order, 62 // self.bits))
        self.mask = np.uint64((1 << (self.order * self.bits)) - 1)
        self.table = np.full(1 << table_bits, -1, dtype=np.int64)
        self.hash = np.zeros(lanes, dtype=np.uint64)
        self.previous = np.zeros(lanes, dtype=np.uint64)
        self.seen = np.zeros(lanes, dtype=np.int64)
        self.pointer = np.full(lanes, -1, dtype=np.int64)
        self.length = np.zeros(lanes, dtype=np.int64)
        self.direction = np.ones(lanes, dtype=np.int64)  # +1: copy forward; -1: reverse complement
        self.complement = complement
        self.rc_hash = np.zeros(lanes, dtype=np.uint64)
        self.hits = np.ones(BUCKETS)
        self.total = np.full(BUCKETS, 2.0)
        rows = np.arange(world_rows if world_rows is not None else lanes)
        self.foreign = rows[(rows < offset) | (rows >= offset + lanes)]
        self.foreign_hash = np.zeros(len(self.foreign), dtype=np.uint64)
        self.foreign_seen = np.zeros(len(self.foreign), dtype=np.int64)
        self.limit = 0
        """Columns of the foreign rows known on both sides (set by :meth:`absorb`)."""

    def _pushed(self, hashes: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Hashes of the last ``order`` symbols after appending ``symbols`` (one per row)."""
        return ((hashes << np.uint64(self.bits)) | symbols.astype(np.uint64)) & self.mask

    def _slot(self, hashes: np.ndarray) -> np.ndarray:
        return ((hashes * _GOLDEN) >> np.uint64(64 - self.table_bits)).astype(np.int64)

    def mix(self, probs: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Mixed probabilities ``(L, V)`` (float32) for the next column, from the network's ``probs``."""
        rows = np.flatnonzero(self.pointer >= 0)
        if len(rows) == 0:
            return probs
        predicted = self._predicted(grid, rows)
        rows, predicted = rows[predicted >= 0], predicted[predicted >= 0]
        bucket = np.minimum(self.length[rows], BUCKETS - 1)
        p_hit = self.hits[bucket] / self.total[bucket]
        net = probs[rows].astype(np.float64)
        p_net = net[np.arange(len(rows)), predicted]
        use = p_hit > p_net
        rows, predicted, p_hit, net, p_net = rows[use], predicted[use], p_hit[use], net[use], p_net[use]
        scale = (1.0 - p_hit) / np.maximum(1.0 - p_net, 1e-12)
        mixed = net * scale[:, None]
        mixed[np.arange(len(rows)), predicted] = p_hit
        out = probs.copy()
        out[rows] = mixed.astype(np.float32)
        return out

    def _predicted(self, grid: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The symbol each lane's match predicts (-1 where it points at padding or at a foreign column not yet
        absorbed: the encoder knows it, the decoder would not)."""
        pointer = self.pointer[rows]
        source = grid.ravel()[pointer]
        row = pointer // self.steps
        unknown = ((row < self.offset) | (row >= self.offset + self.lanes)) & (pointer % self.steps >= self.limit)
        source = np.where(unknown, -1, source)
        if self.complement is None:
            return source
        backward = (self.direction[rows] < 0) & (source >= 0)
        return np.where(backward, self.complement[np.maximum(source, 0)], source)

    def absorb(self, grid: np.ndarray, start: int, end: int) -> None:
        """Index columns ``start .. end - 1`` of the foreign rows of ``grid`` (another stream's block, now known on
        both sides) so that matches can point into them."""
        if len(self.foreign) == 0:
            return
        for t in range(start, end):
            column = grid[self.foreign, t]
            live = column >= 0
            ready = live & (self.foreign_seen >= self.order)
            self.table[self._slot(self.foreign_hash[ready])] = self.foreign[ready] * self.steps + t
            self.foreign_hash[live] = self._pushed(self.foreign_hash[live], column[live])
            self.foreign_seen[live] += 1
        self.limit = end

    def update(self, grid: np.ndarray, t: int) -> None:
        """Learn from column ``t`` of the own rows (now known), index it, and look up matches for column
        ``t + 1``. ``grid``: the world grid (own rows ``offset .. offset + lanes - 1``)."""
        column = grid[self.offset:self.offset + self.lanes, t]
        live = column >= 0
        active = np.flatnonzero((self.pointer >= 0) & live)
        if len(active):
            hit = self._predicted(grid, active) == column[active]
            bucket = np.minimum(self.length[active], BUCKETS - 1)
            self.hits += np.bincount(bucket, weights=hit, minlength=BUCKETS)  # whole counts: exact in float64
            self.total += np.bincount(bucket, minlength=BUCKETS)
            moved = self.pointer[active] + self.direction[active]
            wrapped = (self.direction[active] < 0) & (self.pointer[active] % self.steps == 0)  # into a later column
            self.pointer[active] = np.where(hit & ~wrapped, moved, -1)
            self.length[active] = np.where(hit, self.length[active] + 1, 0)
        self.pointer[~live] = -1
        lanes = np.flatnonzero(live)
        ready = lanes[self.seen[lanes] >= self.order]  # previous hash (up to t - 1) -> position of symbol t
        self.table[self._slot(self.previous[ready])] = (self.offset + ready) * self.steps + t
        self.hash[lanes] = self._pushed(self.hash[lanes], column[lanes])
        self.seen[lanes] += 1
        self.previous[lanes] = self.hash[lanes]
        if self.complement is not None:  # reverse complement of the last `order` symbols, first symbol high
            top = np.uint64(self.bits * (self.order - 1))
            incoming = self.complement[column[lanes]].astype(np.uint64) << top
            self.rc_hash[lanes] = (self.rc_hash[lanes] >> np.uint64(self.bits)) | incoming
        look = lanes[(self.pointer[lanes] < 0) & (self.seen[lanes] >= self.order)]
        if len(look):
            found = self.table[self._slot(self.hash[look])]
            self.direction[look] = 1
            if self.complement is not None:  # no forward match: a reverse-complement one reads backwards
                reverse = self.table[self._slot(self.rc_hash[look])]
                use = (found < 0) & (reverse >= 0)
                start = reverse - self.order - 1  # the symbol before the occurrence, in the same lane only
                inside = (reverse >= 0) & (reverse % self.steps >= self.order + 1)
                found = np.where(use, np.where(inside, start, -1), found)
                self.direction[look] = np.where(use, -1, 1)
            self.pointer[look] = found
            self.length[look] = 0
