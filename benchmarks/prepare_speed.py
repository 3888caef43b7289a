"""Data-path cost of ``biolm pretrain``: preparing a fresh corpus, and the check a re-run / resume makes before
training; prints one JSON object.

Times ``bioLM.training.pretraining.prepare_dataset`` (what ``pretrain`` calls: prepare the corpus or find it
up to date, then verify the dataset against the tokenizer) on a synthetic DNA corpus, char tokenizer:

- ``fresh_s``: first call, the dataset is built (index + hash + build passes over the inputs);
- ``rerun_s``: second call, nothing changed (what every run and every resume pays before training);
- ``touched_rerun_s``: the inputs' mtimes changed, contents not (a copy, a ``touch``);
- ``full_verify_s``: ``verify_dataset(full=True)`` (``biolm prepare --verify``).

The files are in the page cache after writing, so the times are CPU (hash, parse, tokenize), not disk.
Run it with two checkouts to compare (same machine, one after the other)::

    PYTHONPATH=/path/to/old python benchmarks/prepare_speed.py --quick
    PYTHONPATH=$PWD python benchmarks/prepare_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import bioLM
from bioLM.data.shards import verify_dataset
from bioLM.synthetic import random_dna, write_fasta_records
from bioLM.tokenization import build_tokenizer
from bioLM.training.pretraining import prepare_dataset
from bioLM.training.recipe import Recipe

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "dna-char-tiny.yaml"


def corpus(directory: Path, files: int, records: int, length: int) -> list[Path]:
    rng = np.random.default_rng(0)
    return [write_fasta_records(directory / f"part{f}.fa",
                                [(f"f{f}r{r}", random_dna(length, rng)) for r in range(records)])
            for f in range(files)]


def timed(function, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 Mb instead of 60 Mb")
    parser.add_argument("--repeats", type=int, default=3, help="re-run timings: best of this many")
    args = parser.parse_args()
    files, records, length = (3, 8, 250_000) if args.quick else (3, 20, 1_000_000)
    tokenizer = build_tokenizer("char")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = corpus(tmp, files, records, length)
        recipe = Recipe.from_yaml(RECIPE, [f"data.inputs=[{','.join(map(str, inputs))}]",
                                           f"trainer.out_dir={tmp / 'run'}", "data.val_fraction=0.1"])
        run = tmp / "run"
        run.mkdir()
        fresh = timed(lambda: prepare_dataset(recipe, tokenizer, run))
        rerun = timed(lambda: prepare_dataset(recipe, tokenizer, run), args.repeats)

        def touch_then_check() -> None:
            for path in inputs:
                os.utime(path)
            prepare_dataset(recipe, tokenizer, run)

        touched = timed(touch_then_check, args.repeats)
        full = timed(lambda: verify_dataset(run / "dataset", vocab_size=len(tokenizer), full=True), args.repeats)
    print(json.dumps({
        "benchmark": "prepare_speed", "quick": args.quick, "biolm": str(Path(bioLM.__file__).parent),
        "corpus_bases": files * records * length, "files": files,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg()},
        "fresh_s": fresh, "rerun_s": rerun, "touched_rerun_s": touched, "full_verify_s": full,
    }, indent=1))


if __name__ == "__main__":
    main()
