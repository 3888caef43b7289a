"""Tokenizer throughput and BPE compression; prints one JSON object.

    .venv/bin/python benchmarks/tokenizer_speed.py            # 20 Mbp DNA, 4,096-vocab BPE on all shared genomes
    .venv/bin/python benchmarks/tokenizer_speed.py --quick    # 2 Mbp, 1,024-vocab BPE on ~1 Mbp (checks it runs)

k-mer (k=6) ids through bioLM's numpy path, next to DNABERT's pure-Python ``seq2kmer`` and to the transformers
tokenizer call; per-residue protein on the shared protein FASTAs; BPE encode through ``encode_sequence`` next
to raw ``tokenizers.Tokenizer.encode_batch`` on the same pieces; BPE bases per token on the shared genomes.
Targets: k-mer ids >= 150 Mbp/s on one core and >= 20x seq2kmer; BPE >= 0.8x raw encode_batch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bioLM.synthetic import random_dna
from bioLM.tokenization import build_tokenizer, encode_sequence
from bioLM.tokenization.bpe import read_sequences

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def seq2kmer(seq: str, k: int) -> str:
    """DNABERT's reference implementation (pure Python)."""
    kmer = [seq[x:x + k] for x in range(len(seq) + 1 - k)]
    return " ".join(kmer)


def best_time(fn: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Best of ``repeats`` runs; ``clock=time.process_time`` measures CPU time (robust on a busy machine)."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def mbps(bases: int, seconds: float) -> float:
    return round(bases / seconds / 1e6, 2)


def kmer_section(dna: str, small: str, k: int, repeats: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tokenizers = {"nonoverlapping": build_tokenizer("kmer", k=k),
                      "overlapping": build_tokenizer("kmer", k=k, stride=1)}
    baseline = mbps(len(small), best_time(lambda: seq2kmer(small, k), repeats))
    out: dict = {"k": k, "bases": len(dna), "dnabert_seq2kmer_Mbps": baseline, "baseline_bases": len(small)}
    for name, tokenizer in tokenizers.items():
        ids_speed = mbps(len(dna), best_time(lambda t=tokenizer: encode_sequence(t, dna), repeats))
        hf_speed = mbps(len(small), best_time(lambda t=tokenizer: t(small, add_special_tokens=False), repeats))
        cpu_speed = mbps(len(dna), best_time(lambda t=tokenizer: encode_sequence(t, dna), repeats,
                                             time.process_time))
        out[name] = {"bioLM_ids_Mbps": ids_speed, "bioLM_ids_Mbps_cpu_time": cpu_speed,
                     "transformers_call_Mbps": hf_speed,
                     "speedup_vs_seq2kmer": round(ids_speed / baseline, 1)}
    return out


def protein_section(repeats: int, quick: bool) -> dict:
    folder = DATA / "protein"
    if not folder.is_dir():
        return {"skipped": f"{folder} not found"}
    tokenizer = build_tokenizer("char", alphabet="protein")
    out = {}
    for path in sorted(folder.iterdir()):
        records = list(read_sequences(path, "protein"))
        if quick:
            records = records[:2000]
        residues = sum(map(len, records))
        ids = best_time(lambda r=records: [encode_sequence(tokenizer, s) for s in r], repeats)
        hf = best_time(lambda r=records: tokenizer(r, add_special_tokens=False), repeats)
        out[path.name] = {"records": len(records), "residues": residues, "bioLM_ids_Mres_s": mbps(residues, ids),
                          "transformers_batch_Mres_s": mbps(residues, hf)}
    return out


def genome_sequences(limit: int | None) -> tuple[list[str], list[str]]:
    folder = DATA / "dna"
    if not folder.is_dir():
        return [], []
    paths = sorted(p for p in folder.iterdir() if p.name.endswith((".fa", ".fasta", ".fa.gz", ".fasta.gz")))
    names, sequences, total = [], [], 0
    for path in paths:
        for sequence in read_sequences(path, "dna"):
            if limit is not None and total >= limit:
                return names, sequences
            sequence = sequence if limit is None else sequence[:limit - total]
            names.append(path.name)
            sequences.append(sequence)
            total += len(sequence)
    return names, sequences


def bpe_section(dna: str, vocab_size: int, limit: int | None, repeats: int) -> dict:
    names, genomes = genome_sequences(limit)
    source = "shared genomes" if genomes else "synthetic (shared data absent)"
    training = genomes or [dna[:1_000_000]]
    start = time.perf_counter()
    tokenizer = build_tokenizer("bpe", vocab_size=vocab_size, sequences=training)
    train_s = time.perf_counter() - start
    per_file: dict[str, list[int]] = {}
    for name, sequence in zip(names or ["synthetic"], training):
        counts = per_file.setdefault(name, [0, 0])
        counts[0] += len(sequence)
        counts[1] += len(encode_sequence(tokenizer, sequence))
    text = "".join(training)[:len(dna)]
    chunk = tokenizer.init_kwargs["biolm"]["chunk_size"]
    pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
    backend = tokenizer.backend_tokenizer
    ours = best_time(lambda: encode_sequence(tokenizer, text), repeats)
    raw = best_time(lambda: backend.encode_batch(pieces, add_special_tokens=False), repeats)
    raw_fast = best_time(lambda: backend.encode_batch_fast(pieces, add_special_tokens=False), repeats)
    bases = sum(c[0] for c in per_file.values())
    tokens = sum(c[1] for c in per_file.values())
    return {"vocab_size": len(tokenizer), "trained_on": source, "training_bases": bases,
            "train_seconds": round(train_s, 1), "bases_per_token": round(bases / tokens, 3),
            "bases_per_token_by_file": {n: round(b / t, 3) for n, (b, t) in per_file.items()},
            "encode_bases": len(text), "bioLM_encode_sequence_Mbps": mbps(len(text), ours),
            "raw_encode_batch_Mbps": mbps(len(text), raw), "raw_encode_batch_fast_Mbps": mbps(len(text), raw_fast),
            "ratio_bioLM_over_raw_encode_batch": round(raw / ours, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that the script runs")
    parser.add_argument("--length", type=int, default=None, help="synthetic DNA length (default 20 Mbp)")
    parser.add_argument("--k", type=int, default=6)
    args = parser.parse_args(argv)
    length = args.length or (2_000_000 if args.quick else 20_000_000)
    repeats = 1 if args.quick else 3
    dna = random_dna(length, np.random.default_rng(0))
    small = dna[: min(length, 200_000 if args.quick else 2_000_000)]
    result = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS")},
        "quick": args.quick,
        "kmer": kmer_section(dna, small, args.k, repeats),
        "protein_char": protein_section(repeats, args.quick),
        "bpe": bpe_section(dna if not args.quick else dna[:1_000_000], 1024 if args.quick else 4096,
                           1_000_000 if args.quick else None, repeats),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
