"""Benchmark: bioLM as a real compressor of a held-out genome, both ways, vs gzip / bzip2 / xz.

Prints one JSON object: for the pretrained model (``--model``) and for adaptive coding from random init
(``--adaptive``): real container size in bits per base (whole file: layout, side streams, header,
checksums), payload bits per base, payload + the model's weights (xz) in bits per base, compress and
decompress speed (kb/s = thousands of letters per second, wall clock, model loaded, byte-exact check);
gzip -9 / bzip2 -9 / xz -9e on the same A/C/G/T bases with their own speed; the ratio loss from lanes
(teacher-forced bits with ``--lanes`` vs one lane, same contexts); and published figures for context.

    .venv/bin/python benchmarks/compression.py --train-ecoli runs/ecoli-tiny --steps 3000   # ~15 min
    .venv/bin/python benchmarks/compression.py --model runs/ecoli-tiny --adaptive           # E. coli W
    .venv/bin/python benchmarks/compression.py --model runs/ecoli-tiny --adaptive \\
        --genome ../shared/data/dna/human_chr22_20-21M.fa
    .venv/bin/python benchmarks/compression.py --quick      # tiny random model, 20 kb: checks it runs

The genome must not be in the model's training data (``--train-ecoli`` trains on E. coli K-12 W3110 and
EC590; the default genome is E. coli W).
"""

from __future__ import annotations

import argparse
import bz2
import filecmp
import gzip
import json
import lzma
import os
import platform
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from bioLM.compression import AdaptiveConfig, CodecConfig, CodingModel, compress_fasta, decompress
from bioLM.compression.layout import read_raw, split_file
from bioLM.compression.sidestreams import split_letters
from bioLM.hardware import cpu_model, fast_bf16

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dna"
DEFAULT_GENOME = DATA / "ecoli_w.fasta.gz"
TRAIN_GENOMES = ("ecoli_k12_w3110.fasta.gz", "ecoli_ec590.fasta.gz")
LITERATURE = {
    "source": "cobilab human T2T benchmark table (as quoted in bioLM issue 15); human DNA, not re-run",
    "JARVIS2": {"bits_per_base": 1.395, "kb_per_s": 136},
    "GeCo3": {"bits_per_base": "1.43-1.45", "kb_per_s": "75-234"},
    "MFCompress": {"bits_per_base": 1.56, "kb_per_s": 2400},
    "NNCP": {"bits_per_base": 1.51, "kb_per_s": 3},
}


def train_ecoli_model(out: Path, steps: int, seed: int = 0) -> Path:
    """A ``tiny``-preset per-base model trained on E. coli K-12 W3110 + EC590 (AdamW, cosine, batch 32 x 256)."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="dna")
    cores = [split_letters(split_file(read_raw(DATA / name)[0])[1])[0] for name in TRAIN_GENOMES]
    coding_ids = np.zeros(256, dtype=np.int64)
    for base in "ACGT":
        coding_ids[ord(base)] = tokenizer.get_vocab()[base]
    ids = torch.as_tensor(coding_ids[np.concatenate(cores)])
    torch.manual_seed(seed)
    model = BioLMForCausalLM(config_from_preset("tiny", len(tokenizer)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1, betas=(0.9, 0.95))
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        lr = 3e-3 * min(1.0, (step + 1) / 50) * (0.1 + 0.45 * (1 + np.cos(np.pi * step / steps)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(ids) - 256, (32,), generator=generator).tolist()
        batch = torch.stack([ids[s:s + 256] for s in starts])  # (32, 256)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16("cpu")):
            loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval().save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def tiny_random_model(directory: Path) -> Path:
    """A random-init ``tiny``-preset model with the DNA char tokenizer (speed does not depend on weights)."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(0)
    BioLMForCausalLM(config_from_preset("tiny", len(tokenizer))).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def prefix_fasta(source: Path, target: Path, letters: int) -> Path:
    """The first record of ``source`` cut to ``letters`` letters, 60 columns (keeps N runs and case)."""
    layout, sequence = split_file(read_raw(source)[0])
    body = sequence[:letters].tobytes()
    lines = b"\n".join(body[i:i + 60] for i in range(0, len(body), 60))
    target.write_bytes(b">" + layout.headers[0] + b"\n" + lines + b"\n")
    return target


def timed(function, *args, **kwargs):
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - began


def cpu_timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process and its finished worker processes, the coding
    streams): on a shared machine CPU time tracks the unshared wall time of a one-thread run better."""
    cpu = _cpu_seconds()
    result, wall = timed(function, *args, **kwargs)
    return result, wall, _cpu_seconds() - cpu


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def classic(bases: bytes) -> dict:
    """gzip -9, bzip2 -9, xz -9e on ``bases``: bits per base and kb/s both ways."""
    out = {}
    for name, pack, unpack in [
        ("gzip-9", lambda b: gzip.compress(b, compresslevel=9, mtime=0), gzip.decompress),
        ("bzip2-9", lambda b: bz2.compress(b, compresslevel=9), bz2.decompress),
        ("xz-9e", lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME), lzma.decompress),
    ]:
        packed, seconds = timed(pack, bases)
        _, back = timed(unpack, packed)
        out[name] = {"bits_per_base": 8 * len(packed) / len(bases), "compress_kb_per_s": len(bases) / 1e3 / seconds,
                     "decompress_kb_per_s": len(bases) / 1e3 / back}
    return out


def code_both_ways(model_dir: Path | None, genome: Path, config: CodecConfig, work: Path,
                   adaptive: AdaptiveConfig | None = None) -> dict:
    """Compress and decompress ``genome``; sizes, speeds and the byte-exact check."""
    compressed, restored = work / "genome.blm", work / "restored.fa"
    report, compress_s, compress_cpu = cpu_timed(compress_fasta, model_dir, genome, compressed, config,
                                                 adaptive=adaptive)
    _, decompress_s, decompress_cpu = cpu_timed(decompress, model_dir if adaptive is None else None, compressed,
                                                restored)
    original = read_raw(genome)[0]
    return {
        "container_bits_per_base": report.bits_per_base, "payload_bits_per_base": report.payload_bits_per_base,
        "payload_plus_model_bits_per_base": 8 * (report.payload_bytes + report.fallback_bytes
                                                 + report.model_bytes) / report.bases,
        "container_plus_model_bits_per_base": report.with_model_bits_per_base,
        "model_only_bits_per_base": report.model_bits / report.bases,
        "fallback_block_fraction": report.fallback_blocks, "container_bytes": report.file_bytes,
        "model_xz_bytes": report.model_bytes, "letters": report.letters, "bases": report.bases,
        "compress_kb_per_s": report.letters / 1e3 / compress_s,
        "decompress_kb_per_s": report.letters / 1e3 / decompress_s,
        "compress_s": compress_s, "decompress_s": decompress_s,
        "compress_kb_per_cpu_s": report.letters / 1e3 / compress_cpu,
        "decompress_kb_per_cpu_s": report.letters / 1e3 / decompress_cpu,
        "byte_exact": restored.read_bytes() == original and (genome.suffix != ".fa" or filecmp.cmp(genome, restored)),
    }


def lane_loss(model_dir: Path, genome: Path, config: CodecConfig) -> dict:
    """Teacher-forced bits with ``config.lanes`` lanes vs one lane (same context rule): the ratio cost of lanes."""
    from bioLM.compression.bits import BitsModel, file_bits
    from bioLM.model.loading import load

    coding = BitsModel(load(model_dir, device="cpu", precision="fp32"))
    many = file_bits(coding, genome, config, baselines=False)
    one = file_bits(coding, genome, CodecConfig(lanes=1, threads=config.threads), baselines=False)
    return {"lanes": config.lanes, "bits_per_base_lanes": many.bits_per_base, "bits_per_base_one_lane":
            one.bits_per_base, "relative_loss": many.bits / one.bits - 1}


def context_sweep(model_dir: Path, genome: Path, config: CodecConfig, work: Path, contexts: list[int],
                  precisions: list[str]) -> list[dict]:
    """Compress only, for each coding context and precision: payload and network-only bits per base, and speed
    (the cost of a shorter window for a model trained at its full context, and what it buys)."""
    coding, rows = CodingModel(model_dir), []
    for context in contexts:
        for precision in precisions:
            report, wall, cpu = cpu_timed(compress_fasta, model_dir, genome, work / "sweep.blm",
                                          replace(config, context=context, precision=precision), coding=coding)
            rows.append({"context": context, "precision": precision, "payload_bits_per_base":
                         report.payload_bits_per_base, "model_only_bits_per_base": report.model_bits / report.bases,
                         "compress_kb_per_s": report.letters / 1e3 / wall,
                         "compress_kb_per_cpu_s": report.letters / 1e3 / cpu})
    return rows


SPEED_GRID = [("fp32", 256, 256, 1), ("bf16", 256, 256, 1), ("bf16", 256, 256, 2), ("bf16", 128, 512, 2),
              ("bf16", 64, 512, 1), ("bf16", 96, 1024, 2), ("bf16", 64, 1024, 2)]
"""(precision, context, lanes, threads) of ``--speed-grid``: the earlier defaults first, then what each change buys."""


def speed_grid(model_dir: Path, genome: Path, config: CodecConfig, work: Path) -> list[dict]:
    """Round trips of one genome under each setting of :data:`SPEED_GRID`, in one process (ratios between rows
    hold on a shared machine better than absolute rates)."""
    rows = []
    for precision, context, lanes, threads in SPEED_GRID:
        setting = replace(config, precision=precision, context=context, lanes=lanes, threads=threads)
        result = code_both_ways(model_dir, genome, setting, work)
        rows.append({"precision": precision, "context": context, "lanes": lanes, "threads": threads,
                     **{key: result[key] for key in ("payload_bits_per_base", "container_bits_per_base",
                                                     "compress_kb_per_s", "decompress_kb_per_s",
                                                     "compress_kb_per_cpu_s", "decompress_kb_per_cpu_s",
                                                     "byte_exact")}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained model directory (weights + tokenizer)")
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME, help="held-out FASTA genome (plain or gzip)")
    parser.add_argument("--max-letters", type=int, default=None, help="code only a prefix of the first record")
    parser.add_argument("--lanes", type=int, default=CodecConfig.lanes)
    parser.add_argument("--context", type=int, default=None, help="coding context (default: the model's)")
    parser.add_argument("--threads", type=int, default=CodecConfig.threads,
                        help="coding streams, one worker process each (CodecConfig.threads)")
    parser.add_argument("--adaptive", action="store_true", help="also code adaptively from random init")
    parser.add_argument("--adaptive-lanes", type=int, default=CodecConfig.lanes)
    parser.add_argument("--adaptive-context", type=int, default=AdaptiveConfig.context)
    parser.add_argument("--lane-loss", action="store_true", help="measure the ratio loss from lanes (slow)")
    parser.add_argument("--speed-grid", action="store_true",
                        help="instead of the round trip, one round trip per setting of SPEED_GRID (one process)")
    parser.add_argument("--precision", default=CodecConfig.precision, choices=["auto", "bf16", "fp32"])
    parser.add_argument("--sweep-contexts", type=lambda text: [int(x) for x in text.split(",")],
                        help="instead of the round trip, compress with each of these coding contexts (e.g. "
                             "32,64,128,256) in fp32 and bf16")
    parser.add_argument("--train-ecoli", type=Path, help="train a tiny model on E. coli K-12 + EC590 here, exit")
    parser.add_argument("--steps", type=int, default=3000, help="training steps for --train-ecoli")
    parser.add_argument("--quick", action="store_true", help="tiny random model on a 20 kb prefix")
    args = parser.parse_args()
    if args.train_ecoli:
        torch.set_num_threads(args.threads)
        print(json.dumps({"model": str(timed(train_ecoli_model, args.train_ecoli, args.steps)[0])}))
        return
    if not args.quick and args.model is None and not args.adaptive:
        parser.error("--model and/or --adaptive is required (or --quick)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        genome, model_dir = args.genome, args.model
        if args.quick or args.max_letters:
            genome = prefix_fasta(args.genome, work / "prefix.fa", args.max_letters or 20_000)
            model_dir = model_dir or tiny_random_model(work / "model")
        config = CodecConfig(lanes=args.lanes, threads=args.threads, context=args.context, precision=args.precision)
        bases = split_letters(split_file(read_raw(genome)[0])[1])[0].tobytes()
        torch.set_num_threads(args.threads)
        result = {
            "genome": str(genome.resolve()) if genome.parent != work else f"{args.genome} prefix",
            "bases": len(bases), "coding": {"lanes": args.lanes, "threads": args.threads},
            "classic": classic(bases), "literature": LITERATURE,
            "machine": f"{platform.machine()} {cpu_model() or platform.processor() or ''}".strip(), "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "quick": args.quick,
        }
        if model_dir is not None:
            coding = CodingModel(model_dir)
            result.update(model=str(model_dir), context=min(args.context or coding.context, coding.context),
                          model_parameters=sum(p.numel() for p in coding.model.parameters()),
                          precision=coding.precision(args.precision))
            if args.speed_grid:
                result["speed_grid"] = speed_grid(model_dir, genome, config, work)
            elif not args.sweep_contexts:
                result["pretrained"] = code_both_ways(model_dir, genome, config, work)
        if args.adaptive:
            result["adaptive_config"] = asdict(AdaptiveConfig(context=args.adaptive_context))
            result["adaptive"] = code_both_ways(None, genome, CodecConfig(lanes=args.adaptive_lanes,
                                                                          threads=args.threads),
                                                work, AdaptiveConfig(context=args.adaptive_context))
        if args.sweep_contexts:
            result["context_sweep"] = context_sweep(model_dir, genome, config, work, args.sweep_contexts,
                                                    ["fp32", "bf16"])
        if args.lane_loss:
            result["lane_loss"] = lane_loss(model_dir, genome, config)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
