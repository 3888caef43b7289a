"""``biolm compress [--model DIR | --adaptive] in.fa out.blm``: lossless, byte-exact coding of a FASTA file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bioLM.cli.options import add_options, build_options

CODEC = "bioLM.compression.codec:CodecConfig"
ADAPTIVE = "bioLM.compression.adaptive:AdaptiveConfig"
ADAPTIVE_DESTS = {name: f"adaptive_{name}" for name in ("preset", "context", "seed", "lr", "micro_lanes",
                                                          "weight_decay")}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress", help="compress a FASTA file losslessly with a model (.blm)",
        description="Byte-exact: `biolm decompress` restores the file (line lengths, CRLF, headers, case, "
                    "N/IUPAC) so that `cmp` finds no difference. Gzip input is restored uncompressed. Each "
                    "block of bases is model-coded or 2-bit, whichever is smaller. Coding runs on the CPU (the "
                    "decoder must compute bit-identical probabilities), in bf16 where the CPU has bf16 matrix "
                    "units (--precision auto) and fp32 elsewhere; a bf16 file decodes only with the same torch "
                    "build on the same kind of CPU.")
    parser.add_argument("input", type=Path, help="FASTA file (plain or gzip; gzip is restored uncompressed)")
    parser.add_argument("output", type=Path, help="compressed container to write (.blm)")
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (weights + tokenizer); with --adaptive: the starting model")
    parser.add_argument("--adaptive", action="store_true",
                        help="train the model on the bases already coded (decoder replays it; no weights "
                             "shipped); without --model it starts from random init of --preset")
    add_options(parser.add_argument_group("coding"), CODEC)
    add_options(parser.add_argument_group("adaptive mode"), ADAPTIVE, dests=ADAPTIVE_DESTS,
                flags={"preset": ["--preset"], "context": ["--adaptive-context"], "seed": ["--seed"],
                       "lr": ["--lr"], "micro_lanes": ["--micro-lanes"], "weight_decay": ["--weight-decay"]})
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.codec import compress_fasta
    from bioLM.errors import ConfigError

    if args.model is None and not args.adaptive:
        raise ConfigError("give --model DIR (a pretrained model) or --adaptive (learn while coding)")
    config = build_options(CODEC, args)
    adaptive = build_options(ADAPTIVE, args, **{name: getattr(args, dest) for name, dest in ADAPTIVE_DESTS.items()}) \
        if args.adaptive else None
    report = compress_fasta(args.model, args.input, args.output, config, adaptive=adaptive)
    out = {"output": str(args.output), **{k: round(v, 4) if isinstance(v, float) else v
                                          for k, v in report.as_dict().items()}}
    print(json.dumps(out))
    return 0
