"""Seeded generators of synthetic sequences: the demo corpus and the data tests make for themselves.

The DNA generator is a small Markov chain with planted repeats and motifs, so a language model has
something to learn (a model that learns it beats 2 bits per base) and a summarizer has something to find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BASES = np.array(list("ACGT"))
AMINO_ACIDS = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def random_dna(length: int, rng: np.random.Generator, gc: float = 0.5) -> str:
    """I.i.d. bases with the given G+C fraction."""
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return "".join(BASES[rng.choice(4, size=length, p=p)])


def markov_table(rng: np.random.Generator, order: int = 3, concentration: float = 0.3) -> np.ndarray:
    """A random, skewed transition table of an order-``order`` DNA Markov chain: ``(4**order, 4)``."""
    return rng.dirichlet(np.full(4, concentration), size=4 ** order)


def markov_dna(length: int, rng: np.random.Generator, order: int = 3, motifs: tuple[str, ...] = (),
               motif_rate: float = 0.01, table: np.ndarray | None = None) -> str:
    """DNA from an order-``order`` Markov chain (``table``, or a new :func:`markov_table` drawn from ``rng``),
    with ``motifs`` inserted at about ``motif_rate`` per base. Compressible below 2 bits per base."""
    if table is None:
        table = markov_table(rng, order)
    n_contexts = 4 ** order
    if table.shape != (n_contexts, 4):
        raise ValueError(f"table has shape {table.shape}; an order-{order} chain needs ({n_contexts}, 4)")
    cumulative = table.cumsum(axis=1)
    draws = rng.random(length)
    out = np.empty(length, dtype=np.int64)
    context = 0
    mask = n_contexts - 1
    for i in range(length):  # seeded test-data generator, not a hot path
        base = int(np.searchsorted(cumulative[context], draws[i]))
        base = min(base, 3)
        out[i] = base
        context = ((context << 2) | base) & mask
    sequence = "".join(BASES[out])
    if motifs and motif_rate > 0:
        pieces, position = [], 0
        for start in np.sort(rng.choice(length, size=max(1, int(length * motif_rate / 10)), replace=False)):
            pieces.append(sequence[position:start])
            pieces.append(motifs[rng.integers(len(motifs))])
            position = start
        pieces.append(sequence[position:])
        sequence = "".join(pieces)[:length]
    return sequence


def random_protein(length: int, rng: np.random.Generator) -> str:
    """I.i.d. amino acids, starting with M."""
    return "M" + "".join(AMINO_ACIDS[rng.integers(20, size=max(0, length - 1))])


def planted_motif_dataset(n: int, length: int, motif: str, rng: np.random.Generator
                          ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Binary task: class 1 sequences carry ``motif`` at a random position, class 0 do not.

    Returns (sequences, labels, motif_starts) where motif_starts is -1 for class 0.
    """
    sequences, labels, starts = [], np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    for i in range(n):
        sequence = random_dna(length, rng)
        if i % 2 == 1:
            start = int(rng.integers(0, length - len(motif) + 1))
            sequence = sequence[:start] + motif + sequence[start + len(motif):]
            labels[i], starts[i] = 1, start
        else:
            while motif in sequence:
                sequence = random_dna(length, rng)
        sequences.append(sequence)
    return sequences, labels, starts


def write_fasta_records(path: str | Path, records: list[tuple[str, str]], width: int = 60) -> Path:
    """Write ``(id, sequence)`` pairs as FASTA with ``width``-column lines (0: one line per sequence)."""
    path = Path(path)
    with open(path, "w") as handle:
        for name, sequence in records:
            handle.write(f">{name}\n")
            step = width or max(1, len(sequence))
            for i in range(0, len(sequence), step):
                handle.write(sequence[i:i + step] + "\n")
    return path


def demo_corpus(path: str | Path, n_records: int = 8, length: int = 50_000, seed: int = 0) -> Path:
    """A small DNA corpus written as FASTA, the demo's default input: records of one order-3 Markov chain
    (a model can learn it, well below 2 bits per base) with planted motifs."""
    rng = np.random.default_rng(seed)
    motifs = ("TATAAT", "TTGACA", "GGATCCGAATTC")
    table = markov_table(rng)
    records = [(f"synthetic_{i}", markov_dna(length, rng, motifs=motifs, table=table)) for i in range(n_records)]
    return write_fasta_records(path, records)


def write_genbank(path: str | Path, records: list[tuple[str, str, list[tuple[str, list[tuple[int, int]], str, dict]]]],
                  ) -> Path:
    """Write a GenBank file (Biopython) of ``(id, sequence, features)`` records; each feature is
    ``(type, parts, strand, qualifiers)`` with parts 0-based half-open in genomic order and strand '+'/'-'."""
    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqFeature import CompoundLocation, SeqFeature, SimpleLocation
    from Bio.SeqRecord import SeqRecord

    out = []
    for name, sequence, features in records:
        record = SeqRecord(Seq(sequence), id=name, name=name.split(".")[0], description=f"synthetic {name}",
                           annotations={"molecule_type": "DNA"})
        for kind, parts, strand, qualifiers in features:
            ordered = parts if strand == "+" else parts[::-1]  # GenBank lists a minus join 5' -> 3'
            locations = [SimpleLocation(s, e, strand=1 if strand == "+" else -1) for s, e in ordered]
            location = locations[0] if len(locations) == 1 else CompoundLocation(locations)
            record.features.append(SeqFeature(location, type=kind,
                                              qualifiers={k: [v] for k, v in qualifiers.items()}))
        out.append(record)
    SeqIO.write(out, str(path), "genbank")
    return Path(path)
