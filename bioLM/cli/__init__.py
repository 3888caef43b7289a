"""The ``biolm`` command: one module per subcommand, each a thin wrapper over a library function.

A subcommand module defines ``register(subparsers)`` that adds its parser and sets ``func`` to a
function taking the parsed ``argparse.Namespace`` and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from bioLM import __version__
from bioLM.errors import BioLMError

# Subcommand modules, in the order `biolm --help` lists them.
COMMANDS = [
    "demo",
    "info",
    "prepare",
    "pretrain",
    "export",
    "tokenizer",
    "embed",
    "compress",
    "decompress",
    "bits",
    "score_variants", "score_mutations", "generate", "finetune",
    "benchmark",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biolm", description="Language models for DNA and protein.")
    parser.add_argument("--version", action="version", version=f"bioLM {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"bioLM.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``biolm``; bioLM's own errors print as one message, with exit code 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # Lightning's own deprecation noise
    for name in ("lightning.pytorch", "lightning.fabric"):  # Lightning prints through its own handler
        logging.getLogger(name).propagate = False
    try:
        return int(args.func(args) or 0)
    except BioLMError as error:
        print(f"biolm {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file named by the user cannot be read or written (permissions, disk full)
        if error.filename is None:
            raise
        print(f"biolm {args.command}: error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"biolm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
