"""Pretraining quality: bits per base on a held-out E. coli genome after a short CPU pretraining, vs gzip/bzip2/xz.

Pretrains ``recipes/dna-char-tiny.yaml`` and ``recipes/dna-kmer6-small.yaml`` on two E. coli genomes of
../shared/data/dna (K-12 W3110 and EC590) and scores the third (E. coli W, never seen in training): its first
``--max-bases`` A/C/G/T bases are cut into windows of one context, each scored from ``<bos>``
(:func:`bioLM.scoring.likelihood.log_likelihoods`); bits per base = total nats / ln 2 / bases, so the two
tokenizers compare fairly. gzip -9, bzip2 -9 and xz -9e run on the same bases in this script. Prints JSON.

    .venv/bin/python benchmarks/train_quality.py                   # both recipes, sized for <= 30 min each
    .venv/bin/python benchmarks/train_quality.py --quick           # 20 steps each, 20 kb held out (checks it runs)
    .venv/bin/python benchmarks/train_quality.py --steps dna-char-tiny=4000 --threads 1

Runs go to ``--out-root`` (default ``runs/quality``); a finished run is re-used (``--resume``).
``benchmarks/train_speed.py --quality`` adds this section to its JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DNA = REPO.parent / "shared" / "data" / "dna"
TRAIN_GENOMES = ("ecoli_k12_w3110.fasta.gz", "ecoli_ec590.fasta.gz")
HELD_OUT_GENOME = "ecoli_w.fasta.gz"
# Steps sized for <= 20 minutes each on the 2-core AVX2 CPU of benchmarks/RESULTS.md (fp32: ~50k tokens/s for
# tiny, ~1k tokens/s for small); an AMX CPU (bf16) runs ~5-10x more in the same time.
OUT_ROOT = REPO / "runs" / "quality"
DEFAULT_STEPS = {"dna-char-tiny": 12000, "dna-kmer6-small": 150}


def held_out_bases(max_bases: int | None) -> str:
    """The first ``max_bases`` A/C/G/T bases of the held-out genome (the compressor's core: other letters dropped)."""
    from bioLM.compression.sidestreams import split_record
    from bioLM.io import read_fastx

    pieces, total = [], 0
    for record in read_fastx(DNA / HELD_OUT_GENOME):
        core, _ = split_record(record.sequence)
        pieces.append(core)
        total += len(core)
        if max_bases is not None and total >= max_bases:
            break
    return "".join(pieces)[:max_bases]


def model_bits_per_base(model_dir: Path, bases: str) -> dict:
    """Bits per base of ``bases`` under the model: windows of one context (a whole number of tokens)."""
    from bioLM.model.loading import load
    from bioLM.scoring.likelihood import LikelihoodOptions, log_likelihoods
    from bioLM.tokenization import bases_per_token

    model, tokenizer = loaded = load(model_dir, device="cpu", precision="auto")
    per_token = bases_per_token(tokenizer)
    step = int(per_token[per_token > 0].max())  # k for k-mers, 1 for char (BPE: longest token; windows shrink)
    window = (loaded.context - 1) * step
    window -= window % step
    windows = [bases[i:i + window] for i in range(0, len(bases) - len(bases) % step, window)]
    start = time.perf_counter()
    sums, counts = log_likelihoods(model, tokenizer, windows, LikelihoodOptions(precision=loaded.precision))
    nats = -float(np.sum(sums))
    scored = sum(len(w) for w in windows)
    return {"bits_per_base": nats / math.log(2) / scored, "bases": scored, "windows": len(windows),
            "tokens": int(np.sum(counts)), "window_bases": window, "score_s": time.perf_counter() - start}


def pretrain_on_ecoli(name: str, steps: int, out_root: Path, quick: bool) -> tuple[Path, dict]:
    """Run recipe ``name`` on the training genomes (re-using a finished run); (model dir, run summary)."""
    from bioLM.training import Recipe
    from bioLM.training.curves import read_metric_logs
    from bioLM.training.pretraining import pretrain

    out_dir = out_root / name
    overrides = [f"trainer.out_dir={out_dir}", f"trainer.max_steps={steps}", "data.demo_corpus=false",
                 "trainer.progress_bar=false", f"trainer.val_every={max(steps // 4, 10)}",
                 f"trainer.checkpoint_every={max(steps // 4, 10)}", "data.val_fraction=0.05"]
    if quick:
        overrides += ["trainer.val_max_windows=8"]
    recipe = Recipe.from_yaml(REPO / "recipes" / f"{name}.yaml", overrides)
    recipe.data.inputs = [str(DNA / g) for g in TRAIN_GENOMES]
    recipe.resume = True
    start = time.perf_counter()
    model_dir = Path(pretrain(recipe))
    logged = read_metric_logs(out_dir)
    last = {k: v[max(v)] for k, v in logged.items() if v and k in ("val_bits_per_base", "tokens_seen",
                                                                    "tokens_per_s", "mfu")}
    return model_dir, {"recipe": f"recipes/{name}.yaml", "steps": steps, "train_genomes": list(TRAIN_GENOMES),
                       "wall_s_this_call": time.perf_counter() - start, "final_logged": last,
                       "run_dir": str(out_dir)}


def quality_section(steps: dict[str, int], out_root: Path, max_bases: int | None, quick: bool) -> dict:
    """Pretrain each recipe and score the held-out genome; classic compressors on the same bases."""
    from bioLM.compression.classic import classic_bits_per_base

    if not DNA.is_dir():
        return {"status": "skipped", "reason": f"{DNA} is absent"}
    bases = held_out_bases(max_bases)
    result = {"held_out": HELD_OUT_GENOME, "bases": len(bases),
              "classic_bits_per_base": classic_bits_per_base(bases.encode("ascii")), "models": {}}
    for name, n_steps in steps.items():
        model_dir, run = pretrain_on_ecoli(name, n_steps, out_root, quick)
        run.update(model_bits_per_base(model_dir, bases))
        run["below_xz"] = run["bits_per_base"] < result["classic_bits_per_base"]["xz-9e"]
        result["models"][name] = run
    return result


def run_quality(quick: bool, steps: dict[str, int] | None = None, out_root: Path = OUT_ROOT,
                max_bases: int = 1_000_000) -> dict:
    """:func:`quality_section` with the defaults, or the quick sizes (20 steps each, 20 kb, a separate folder)."""
    if quick:
        return quality_section({k: 20 for k in (steps or DEFAULT_STEPS)}, out_root / "quick", 20_000, True)
    return quality_section(steps or dict(DEFAULT_STEPS), out_root, max_bases, False)


def parse_steps(items: list[str]) -> dict[str, int]:
    steps = dict(DEFAULT_STEPS)
    for item in items:
        name, _, value = item.partition("=")
        if name not in steps or not value.isdigit():
            raise SystemExit(f"--steps takes NAME=N with NAME in {sorted(steps)}, got {item!r}")
        steps[name] = int(value)
    return steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 steps per recipe, 20 kb held out")
    parser.add_argument("--steps", nargs="*", default=[], help="NAME=N training steps per recipe")
    parser.add_argument("--only", nargs="*", default=None, help="recipe names to run (default: both)")
    parser.add_argument("--max-bases", type=int, default=1_000_000, help="held-out bases scored")
    parser.add_argument("--out-root", type=Path, default=OUT_ROOT)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = {k: v for k, v in parse_steps(args.steps).items() if not args.only or k in args.only}
    print(json.dumps({"benchmark": "train_quality", "quick": args.quick, "threads": torch.get_num_threads(),
                      "quality": run_quality(args.quick, steps, args.out_root, args.max_bases)}, indent=2))


if __name__ == "__main__":
    main()
