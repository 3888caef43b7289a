"""Benchmark: bioLM as a lossless compressor of a real genome held out from training, vs gzip/bzip2/xz.

Prints one JSON object: real container bits per base (whole file: headers, side streams, checksums
included), payload-only and theoretical bits per base, the classic compressors on the same letters, and
compress / decompress speed in kb/s (thousands of letters per second, wall clock, model loaded).

    .venv/bin/python benchmarks/compression.py --model DIR [--genome FASTA]
    .venv/bin/python benchmarks/compression.py --quick      # tiny random model, 3 kb prefix: checks it runs

The genome must not be in the model's training data (default: the lambda phage genome).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from bioLM.compression import CodecConfig, CodingModel, classic_bits_per_base, compress_fasta, decompress
from bioLM.compression.bits import file_bits
from bioLM.io import read_fastx

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dna"
DEFAULT_GENOME = DATA / "lambda_phage.fasta"


def tiny_random_model(directory: Path) -> Path:
    """A random-init 2-layer, width-32, context-64 model with the DNA char tokenizer (for --quick)."""
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(0)
    model = BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), n_embd=32, n_head=2, block_size=64))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def records_of(path: Path) -> list[tuple[str, str, str]]:
    """(id, description, letters with case) of every record: what must survive the round trip."""
    out = []
    for record in read_fastx(path, alphabet="rna", rna_as_dna=False, keep_soft_mask=True,
                             allow_duplicate_ids=True):
        letters = "".join(c.lower() if m else c for c, m in zip(record.sequence, record.soft_mask)) \
            if record.soft_mask is not None and record.soft_mask.any() else record.sequence
        out.append((record.id, record.description, letters))
    return out


def prefix_fasta(source: Path, target: Path, letters: int) -> Path:
    """The first ``letters`` letters of the first record of ``source``, as FASTA."""
    name, description, sequence = records_of(source)[0]
    target.write_text(f">{name} {description}\n{sequence[:letters]}\n")
    return target


def run(model_dir: Path, genome: Path, config: CodecConfig, work: Path) -> dict:
    coding = CodingModel(model_dir)
    original = records_of(genome)
    letters = sum(len(s) for _, _, s in original)
    compressed, restored = work / "genome.blm", work / "restored.fa"
    began = time.perf_counter()
    report = compress_fasta(model_dir, genome, compressed, config, coding=coding)
    compress_s = time.perf_counter() - began
    began = time.perf_counter()
    decompress(model_dir, compressed, restored, coding=coding)
    decompress_s = time.perf_counter() - began
    theory = file_bits(coding, genome, config, baselines=False)
    classic = classic_bits_per_base("".join(s for _, _, s in original).encode("ascii"))
    return {
        "genome": str(genome.resolve()), "model": str(model_dir), "records": len(original), "letters": letters,
        "model_parameters": sum(p.numel() for p in coding.model.parameters()), "context": coding.context,
        "coding": {"lanes": config.lanes, "min_lane_tokens": config.min_lane_tokens, "threads": config.threads},
        "round_trip_exact": records_of(restored) == original,
        "compressed_bytes": report.file_bytes,
        "biolm_bits_per_base": 8 * report.file_bytes / letters,
        "biolm_payload_bits_per_base": 8 * report.payload_bytes / letters,
        "theoretical_bits_per_base": theory.bits / max(theory.bases, 1),
        "model_full_softmax_bits_per_base": theory.model_bits / max(theory.bases, 1),
        **{f"{name}_bits_per_base": value for name, value in classic.items()},
        "compress_kb_per_s": letters / 1000 / compress_s,
        "decompress_kb_per_s": letters / 1000 / decompress_s,
        "compress_s": compress_s, "decompress_s": decompress_s,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained model directory (weights + tokenizer)")
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME, help="held-out FASTA genome")
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--min-lane-tokens", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny random model on a 3 kb prefix")
    args = parser.parse_args()
    if not args.quick and args.model is None:
        parser.error("--model is required (or --quick)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = CodecConfig(lanes=args.lanes, min_lane_tokens=args.min_lane_tokens, threads=args.threads)
        genome, model_dir = args.genome, args.model
        if args.quick:
            genome = prefix_fasta(args.genome, work / "prefix.fa", 3000)
            model_dir = args.model or tiny_random_model(work / "model")
            config = CodecConfig(lanes=8, min_lane_tokens=256, threads=args.threads)
        result = run(model_dir, genome, config, work)
        result["quick"] = args.quick
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
