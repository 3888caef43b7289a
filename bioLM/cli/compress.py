"""``biolm compress [--model DIR | --adaptive] in.fa out.blm``: lossless, byte-exact coding of a FASTA file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from bioLM.compression.adaptive import AdaptiveConfig
    from bioLM.compression.codec import CodecConfig

    codec, adaptive = CodecConfig(), AdaptiveConfig()
    parser = subparsers.add_parser(
        "compress", help="compress a FASTA file losslessly with a model (.blm)",
        description="Byte-exact: `biolm decompress` restores the file (line lengths, CRLF, headers, case, "
                    "N/IUPAC) so that `cmp` finds no difference. Gzip input is restored uncompressed. Each "
                    "block of bases is model-coded or 2-bit, whichever is smaller.")
    parser.add_argument("input", type=Path, help="FASTA file (plain or gzip; gzip is restored uncompressed)")
    parser.add_argument("output", type=Path, help="compressed container to write (.blm)")
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (weights + tokenizer); with --adaptive: the starting model")
    parser.add_argument("--adaptive", action="store_true",
                        help="train the model on the bases already coded (decoder replays it; no weights "
                             "shipped); without --model it starts from random init of --preset")
    parser.add_argument("--preset", default=adaptive.preset, help=f"adaptive random-init preset ({adaptive.preset})")
    parser.add_argument("--adaptive-context", type=int, default=adaptive.context,
                        help=f"context of the random-init model ({adaptive.context})")
    parser.add_argument("--lr", type=float, default=adaptive.lr, help=f"adaptive learning rate ({adaptive.lr})")
    parser.add_argument("--seed", type=int, default=adaptive.seed, help="adaptive random-init seed")
    parser.add_argument("--lanes", type=int, default=codec.lanes,
                        help=f"parallel lanes (speed vs a little ratio; default {codec.lanes})")
    parser.add_argument("--min-lane-tokens", type=int, default=codec.min_lane_tokens,
                        help=f"fewest tokens per lane (default {codec.min_lane_tokens})")
    parser.add_argument("--block-steps", type=int, default=codec.block_steps,
                        help=f"steps per model-or-2-bit block (default {codec.block_steps})")
    parser.add_argument("--context", type=int, default=None,
                        help="coding context in tokens (default: the model's; shorter is faster)")
    parser.add_argument("--match-order", type=int, default=codec.match_order,
                        help=f"copy model on the last N bases (repeats, both strands); 0 = off "
                             f"(default {codec.match_order})")
    parser.add_argument("--threads", type=int, default=codec.threads,
                        help=f"torch CPU threads (decompression uses the same; default {codec.threads})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bioLM.compression.adaptive import AdaptiveConfig
    from bioLM.compression.codec import CodecConfig, compress_fasta
    from bioLM.errors import ConfigError

    if args.model is None and not args.adaptive:
        raise ConfigError("give --model DIR (a pretrained model) or --adaptive (learn while coding)")
    config = CodecConfig(lanes=args.lanes, min_lane_tokens=args.min_lane_tokens, threads=args.threads,
                         block_steps=args.block_steps, context=args.context, match_order=args.match_order)
    adaptive = AdaptiveConfig(preset=args.preset, context=args.adaptive_context, seed=args.seed, lr=args.lr) \
        if args.adaptive else None
    report = compress_fasta(args.model, args.input, args.output, config, adaptive=adaptive)
    out = {"output": str(args.output), **{k: round(v, 4) if isinstance(v, float) else v
                                          for k, v in report.as_dict().items()}}
    print(json.dumps(out))
    return 0
