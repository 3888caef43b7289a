"""Reader throughput and memory: bioLM's read_fastx vs raw pysam.FastxFile vs Bio.SeqIO; peak RSS of
streaming a big multi-record FASTA and of iter_windows over one huge record. Prints one JSON object.

    python benchmarks/io_speed.py            # 50 Mbp throughput files, 500 Mbp memory files
    python benchmarks/io_speed.py --quick    # 10x / 50x smaller, to check that it works

Targets (issue 2): reader >= 0.7x raw pysam MB/s; peak RSS < 300 MB beyond the interpreter's baseline.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

LINES_PER_CHUNK = 16_384


def write_fasta(path: Path, n_records: int, record_length: int, seed: int = 0, width: int = 60) -> Path:
    """Random ACGT FASTA with ``width``-column lines, written in chunks (memory independent of size)."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    chunk = width * LINES_PER_CHUNK  # whole lines per chunk, so every line but the last has `width`
    with open(path, "wb") as handle:
        for i in range(n_records):
            handle.write(f">record_{i}\n".encode())
            for start in range(0, record_length, chunk):
                n = min(chunk, record_length - start)
                codes = letters[rng.integers(0, 4, n)]
                lines = np.full((n + width - 1) // width * (width + 1), ord("\n"), dtype=np.uint8)
                full = n // width
                lines[: full * (width + 1)].reshape(full, width + 1)[:, :width] = codes[: full * width].reshape(
                    full, width)
                rest = n - full * width
                tail = lines[full * (width + 1):]
                tail[:rest] = codes[full * width:]
                handle.write(lines[: full * (width + 1) + (rest + 1 if rest else 0)].tobytes())
    return path


def read_biolm(path: Path) -> int:
    from bioLM.io import read_fastx

    return sum(len(record.sequence) for record in read_fastx(path))


def read_pysam(path: Path) -> int:
    import pysam

    total = 0
    with pysam.FastxFile(str(path), persist=False) as handle:
        for entry in handle:
            entry.name  # noqa: B018 - access the fields a reader must produce
            total += len(entry.sequence)
    return total


def read_biopython(path: Path) -> int:
    from Bio import SeqIO

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return sum(len(record.seq) for record in SeqIO.parse(handle, "fasta"))


SPEED_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import io_speed
reader, path, repeats, bases = getattr(io_speed, sys.argv[2]), io_speed.Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    assert reader(path) == bases, sys.argv[2]
    best = min(best, time.perf_counter() - start)
print(best)
"""


def throughput(path: Path, bases: int, repeats: int, rounds: int = 3) -> dict[str, float]:
    """MB/s (10^6 sequence bases per second) of each reader, and bioLM's ratio to raw pysam.

    Each reader runs in a fresh interpreter (best of ``repeats`` passes), the readers interleaved over ``rounds``
    (so load on a shared machine hits every reader alike): in one process the readers share the allocator's
    state, and a reader's speed on 10 Mbp records then depends on which reader ran before it (pysam's
    60 -> 76 ms after Bio.SeqIO, bioLM / pysam swinging 0.44-0.59 between identical runs).
    """
    readers = {"biolm": "read_biolm", "pysam": "read_pysam", "biopython": "read_biopython"}
    best = dict.fromkeys(readers, float("inf"))
    folder = str(Path(__file__).resolve().parent)
    for _ in range(rounds):
        for name, function in readers.items():
            output = subprocess.run([sys.executable, "-c", SPEED_CHILD, folder, function, str(path), str(repeats),
                                     str(bases)], check=True, capture_output=True, text=True).stdout
            best[name] = min(best[name], float(output))
    result = {f"{name}_mb_s": round(bases / 1e6 / seconds, 1) for name, seconds in best.items()}
    result["biolm_vs_pysam"] = round(result["biolm_mb_s"] / result["pysam_mb_s"], 3)
    return result


CHILD = """
import resource, sys


def rss_kb(field):  # VmRSS / VmHWM of this process since exec (Linux); ru_maxrss would include the parent's
    try:
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith(field))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)


interpreter = rss_kb("VmHWM:")
from bioLM.io import read_fastx, iter_windows
imports = rss_kb("VmHWM:")
mode, path = sys.argv[1], sys.argv[2]
if mode == "read":
    total = sum(len(r.sequence) for r in read_fastx(path))
else:
    total = sum(len(w.sequence) for w in iter_windows(path, 100_000, 1_000, index_dir=sys.argv[3]))
print(total, interpreter, imports, rss_kb("VmHWM:"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(mode: str, path: Path, index_dir: Path) -> dict[str, float]:
    """Peak RSS (MB) of a fresh interpreter streaming ``path``, beyond the bare interpreter's baseline
    (so it includes importing bioLM, numpy and pysam: ``imports_mb``). Peak = VmHWM on Linux (the
    high-water mark since exec; ru_maxrss, reported too, also counts the forked parent's pages)."""
    output = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(index_dir)], check=True,
                            capture_output=True, text=True).stdout.split()
    total, interpreter, imports, peak, maxrss = (int(x) for x in output)
    return {"bases": total, "interpreter_baseline_mb": round(interpreter / 1024, 1),
            "imports_mb": round((imports - interpreter) / 1024, 1),
            "peak_beyond_baseline_mb": round((peak - interpreter) / 1024, 1),
            "ru_maxrss_mb": round(maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 10x (throughput) / 50x (memory) smaller")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of fresh-interpreter timings")
    parser.add_argument("--throughput-only", action="store_true",
                        help="skip the peak-RSS part (its 500 Mbp files); e.g. to compare two checkouts: "
                             "PYTHONPATH=<checkout> python benchmarks/io_speed.py --throughput-only")
    args = parser.parse_args()
    speed_bases = 5_000_000 if args.quick else 50_000_000
    memory_bases = 10_000_000 if args.quick else 500_000_000
    record = 1_000_000 if args.quick else 10_000_000
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        plain = write_fasta(tmp / "speed.fa", 5, speed_bases // 5)
        gz = tmp / "speed.fa.gz"
        with open(plain, "rb") as source, gzip.open(gz, "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target)
        result = {"quick": args.quick, "python": sys.version.split()[0],
                  "plain": throughput(plain, speed_bases, args.repeats, args.rounds),
                  "gzip": throughput(gz, speed_bases, max(1, args.repeats - 1), args.rounds)}
        plain.unlink()
        if args.throughput_only:
            print(json.dumps(result, indent=2))
            return
        many = write_fasta(tmp / "many.fa", memory_bases // record, record)
        result["rss_read_mb"] = peak_rss("read", many, tmp)
        many.unlink()
        one = write_fasta(tmp / "one.fa", 1, memory_bases)
        result["rss_windows_mb"] = peak_rss("windows", one, tmp)
        result["memory_file_bases"] = memory_bases
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
