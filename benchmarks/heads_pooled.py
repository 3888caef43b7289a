"""The extractive head against the best standard selector, per seed set and pooled over every fresh seed set;
prints one JSON object.

Reads the per-fold outcome files the development passes committed (``benchmarks/results/heads/pass*_dev/
choices_seeds*.json``: setting -> folds, each with the outer macro-F1 of every candidate of the head, the
candidate the head chose and the four standard selectors on the same outer fold; how they were made: the
``README.md`` beside them) and judges the head the way ``benchmarks/heads.py`` does (``_against_best``: the best
baseline by mean, the paired difference with a paired-t 95% CI), per seed set and over all of them together
(more paired folds: a difference of 0.01 needs about 100 of them to be significant). A fold is counted once (its
setting, seed and position); folds without baselines (the development seeds) are left out.

Usage: ``python benchmarks/heads_pooled.py [--choice choice_dual_default] [FILES...]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import heads  # noqa: E402  (the benchmark's own judge: _against_best)

RESULTS = Path(__file__).resolve().parent / "results" / "heads"


class BadFile(ValueError):
    """A per-fold file that cannot be read, is not one, or contradicts another (the message names it)."""


def _entries(path: Path, choice: str) -> list[tuple[str, tuple[int, int], dict]]:
    """(setting, (seed, fold), {"head": outer score of the chosen candidate, baseline: score, ...}) of every fold
    of one file that has baselines and ``choice``."""
    try:
        out = []
        for name, rows in json.loads(path.read_text()).items():
            position: dict[int, int] = {}
            for row in rows:
                seed = row["seed"]
                position[seed] = position.get(seed, -1) + 1
                if "baselines" in row and choice in row:
                    entry = {"head": row["outer"][row[choice]], **row["baselines"]}
                    out.append((name, (seed, position[seed]), entry))
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadFile(f"{path}: not a per-fold outcome file ({type(error).__name__}: {error})") from None


def load(paths: list[Path], choice: str) -> dict[str, dict[tuple[int, int], dict]]:
    """setting -> (seed, fold) -> {"head": ..., baseline: score, ...}; a fold in several files counted once."""
    folds: dict[str, dict[tuple[int, int], dict]] = {}
    for path in paths:
        for name, key, entry in _entries(path, choice):
            if folds.setdefault(name, {}).get(key, entry) != entry:
                raise BadFile(f"{path}: {name} seed {key[0]} fold {key[1]} differs from an earlier file")
            folds[name][key] = entry
    if not any(folds.values()):
        raise BadFile(f"no fold with baselines and a {choice!r} field in {len(paths)} file(s)")
    return folds


def judge(rows: list[dict]) -> dict:
    """The head against the best baseline (by mean) over ``rows`` (paired folds), as ``heads.py`` judges it."""
    methods = {name: [row[name] for row in rows] for name in rows[0]}
    methods["extractive"] = methods.pop("head")
    table = heads._against_best({"k=0": methods}, 0, 0)["k=0"]  # one k per setting in these files
    return {"folds": len(rows), **table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--choice", default="choice_dual_default",
                        help="which recorded choice is the head (the field of the per-fold files)")
    args = parser.parse_args()
    paths = args.files or sorted(RESULTS.glob("pass*_dev/choices_seeds*.json"))
    try:
        folds = load(paths, args.choice)
    except BadFile as error:
        parser.exit(2, f"heads_pooled.py: error: {error}\n")  # bad input: exit 2, no traceback
    out: dict = {"choice": args.choice, "files": [str(p) for p in paths], "settings": {}}
    for name, by_fold in sorted(folds.items()):
        seeds = sorted({seed for seed, _ in by_fold})
        sets = sorted({seed - seed % 6 for seed in seeds})  # the passes ran seeds in sets of six
        table = {f"{s}-{s + 5}": judge([v for (seed, _), v in sorted(by_fold.items()) if s <= seed < s + 6])
                 for s in sets}
        table["pooled"] = judge([v for _, v in sorted(by_fold.items())])
        out["settings"][name] = table
    pooled = [t["pooled"] for t in out["settings"].values()]
    out["pooled_at_least_best"] = sum(t["at_least_best"] for t in pooled)
    out["pooled_significantly_better"] = sum(t["significantly_better"] for t in pooled)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
