"""``biolm benchmark SUITE.yaml --data-dir DIR --out OUTDIR``: run a benchmark suite, write a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bioLM.cli.options import add_runtime_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark", help="run a benchmark suite (tasks, evaluators, baselines, seeds) and write a report",
        description="Runs the suite's model (or pretrains it first from a recipe) on every task with every "
                    "evaluator and baseline and seed; writes OUT/results.json, OUT/report.md and OUT/plots/*.png. "
                    "Suites: benchmarks/suites/*.yaml.")
    parser.add_argument("suite", type=Path, help="suite YAML file")
    parser.add_argument("--data-dir", type=Path, required=True, help="folder the suite's task paths are under")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="override the suite's seeds")
    parser.add_argument("--model", type=Path, default=None,
                        help="a model directory to test instead of the suite's model (no pretraining): bioLM's, "
                             "or any Hugging Face causal or masked LM")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from bioLM.benchmark import Suite
    from bioLM.benchmark.run import run_benchmark

    suite = Suite.from_yaml(args.suite, model=args.model)
    if args.seeds:
        suite.seeds = list(args.seeds)
    if args.model:
        suite.model.path = str(args.model.resolve())
    suite.device, suite.precision = args.device, args.precision
    outcome = run_benchmark(suite, args.data_dir, args.out)
    logging.getLogger("bioLM.benchmark").info("report: %s (wall %.0f s)", args.out / "report.md",
                                               outcome.results["wall_s"])
    return 0
