"""``biolm score-mutations``: zero-shot protein mutation scores (causal: LL ratio; masked: masked marginals)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bioLM.cli.options import add_options, add_runtime_arguments, build_options
from bioLM.errors import ConfigError

OPTIONS = "bioLM.scoring.mutations:MutationScoringConfig"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score-mutations", help="score protein mutations (A23V, A23V:G45D) with a causal or masked LM",
        description="Causal LM: score = log-likelihood(mutant) - log-likelihood(wild type), full sequence, nats. "
                    "Masked LM: masked marginals (ESM-1v / ProteinGym): sum over mutated positions of "
                    "log p(mutant) - log p(wild type) with that position masked. Positions are 1-based in the "
                    "wild type and checked against it; the rule is written in the column SCORE_COLUMN_rule.")
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    wild_type = parser.add_mutually_exclusive_group(required=True)
    wild_type.add_argument("--sequence", default=None, help="wild-type protein sequence")
    wild_type.add_argument("--fasta", type=Path, default=None, help="FASTA whose first record is the wild type")
    parser.add_argument("--mutations", type=Path, required=True, help="CSV with a mutation column")
    parser.add_argument("--out", type=Path, default=None,
                        help="output CSV (default: MUTATIONS with .scored.csv)")
    add_options(parser, OPTIONS, exclude=["precision", "device", "progress", "max_listed"])
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.scoring.mutations import read_wild_type, score_mutations

    wild_type = args.sequence if args.sequence is not None else read_wild_type(args.fasta)
    out = args.out or args.mutations.with_name(args.mutations.stem + ".scored.csv")
    if out.resolve() == args.mutations.resolve():
        raise ConfigError(f"--out {out} would overwrite the input; choose another path")
    result = score_mutations(args.model, wild_type, args.mutations, out, build_options(OPTIONS, args))
    print(f"scored {result.rows} rows ({result.scoring}); wrote {result.out}")
    if args.fitness_column:
        rho = "n/a (fewer than 3 rows with a value)" if result.spearman is None else f"{result.spearman:.4f}"
        print(f"Spearman rho vs {args.fitness_column}: {rho} (n={result.fitness_rows})")
    return 0
