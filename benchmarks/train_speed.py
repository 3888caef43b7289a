"""Training speed of bioLM's GPT against transformers' Llama, and MFU; prints one JSON object.

Section "speed" (issue 4, section 5): same shapes for both models (default: width 384, 6 layers, 6 heads,
context 512, batch 8, vocab 4,096, SwiGLU, untied, ~14M parameters), one training step = forward + backward
+ AdamW step, under bf16 autocast (CPU or CUDA). Reported: tokens/s (median step time after warm-up), the
speed-up over a plain PyTorch loop around ``transformers.LlamaForCausalLM``, and
MFU = tokens/s * flops_per_token / measured bf16 matmul peak (``bioLM.model.flops``).

    python benchmarks/train_speed.py                 # CPU, the 14M shapes
    python benchmarks/train_speed.py --quick         # tiny shapes, a few steps: checks the script works
    python benchmarks/train_speed.py --device cuda   # the `base` preset on a GPU
    python benchmarks/train_speed.py --no-compile    # skip the torch.compile'd bioLM run (compiling takes minutes)

A "quality" section (bits per base on E. coli against gzip/bzip2/xz) is added by the training work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bioLM.model import (
    BioLMForCausalLM,
    compile_blocks,
    config_from_preset,
    flops_per_token,
    measure_matmul_peak,
)


@dataclass
class Shapes:
    """Model and batch shapes shared by both models."""

    preset: str = "small"
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    block_size: int = 512
    batch_size: int = 8
    vocab_size: int = 4096


QUICK = Shapes(preset="tiny", n_layer=2, n_head=2, n_embd=64, block_size=128, batch_size=4, vocab_size=256)
GPU = Shapes(preset="base", n_layer=12, n_head=12, n_embd=768, block_size=1024, batch_size=16, vocab_size=4096)


def biolm_factory(shapes: Shapes, compile_model: bool = False) -> Callable[[], torch.nn.Module]:
    def make() -> torch.nn.Module:
        config = config_from_preset(shapes.preset, shapes.vocab_size, n_layer=shapes.n_layer, n_head=shapes.n_head,
                                    n_embd=shapes.n_embd, block_size=shapes.block_size, tie_word_embeddings=False)
        model = BioLMForCausalLM(config)
        return compile_blocks(model) if compile_model else model
    return make


def llama_factory(shapes: Shapes) -> Callable[[], torch.nn.Module]:
    def make() -> torch.nn.Module:
        reference = config_from_preset(shapes.preset, shapes.vocab_size, n_embd=shapes.n_embd)
        config = LlamaConfig(vocab_size=shapes.vocab_size, hidden_size=shapes.n_embd,
                             intermediate_size=reference.intermediate_size, num_hidden_layers=shapes.n_layer,
                             num_attention_heads=shapes.n_head, num_key_value_heads=shapes.n_head,
                             max_position_embeddings=shapes.block_size, tie_word_embeddings=False,
                             attn_implementation="sdpa")
        return LlamaForCausalLM(config)
    return make


def measure_step_speed(model_factory: Callable[[], torch.nn.Module], *, batch_size: int, seq_len: int,
                       vocab_size: int, device: str = "cpu", dtype: torch.dtype = torch.bfloat16,
                       steps: int = 6, warmup: int = 2, fused_adamw: bool = False) -> dict:
    """Median seconds and tokens/s of a training step (forward + backward + AdamW) under autocast(dtype).

    Also the median process CPU seconds per step: on a shared machine, wall time / CPU time shows contention.
    """
    torch.manual_seed(0)
    model = model_factory().to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=fused_adamw or None)
    batch = torch.randint(5, vocab_size, (batch_size, seq_len), device=device)
    times, cpu_times = [], []
    for step in range(warmup + steps):
        sync(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast(torch.device(device).type, dtype=dtype):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    median = statistics.median(times)
    return {"step_s_median": median, "step_s_all": [round(t, 4) for t in times],
            "process_cpu_s_median": statistics.median(cpu_times),
            "tokens_per_s": batch_size * seq_len / median, "final_loss": float(loss.detach()),
            "parameters": sum(p.numel() for p in model.parameters())}


def sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def speed_section(shapes: Shapes, device: str, steps: int, warmup: int, with_compile: bool) -> dict:
    """bioLM vs Llama tokens/s on the same shapes, and bioLM's MFU against the measured matmul peak."""
    common = {"batch_size": shapes.batch_size, "seq_len": shapes.block_size, "vocab_size": shapes.vocab_size,
              "device": device, "steps": steps, "warmup": warmup}
    runs = {
        "biolm": measure_step_speed(biolm_factory(shapes), fused_adamw=True, **common),
        "hf_llama": measure_step_speed(llama_factory(shapes), fused_adamw=False, **common),
    }
    if with_compile:
        start = time.perf_counter()
        runs["biolm_compiled"] = measure_step_speed(biolm_factory(shapes, compile_model=True), fused_adamw=True,
                                                    **common)
        runs["biolm_compiled"]["wall_s_including_compile"] = time.perf_counter() - start
        runs["biolm_compiled"]["final_loss_diff_vs_eager"] = abs(runs["biolm_compiled"]["final_loss"]
                                                                 - runs["biolm"]["final_loss"])
    config = biolm_factory(shapes)().config
    flops = flops_per_token(config, shapes.block_size)
    peak = measure_matmul_peak(torch.bfloat16, device, size=2048 if device == "cpu" else 8192)
    for run in runs.values():
        run["mfu"] = run["tokens_per_s"] * flops / peak
    best = max((k for k in runs if k.startswith("biolm")), key=lambda k: runs[k]["tokens_per_s"])
    return {
        "shapes": asdict(shapes), "flops_per_token": flops, "bf16_matmul_peak_flops": peak,
        "runs": runs, "best_biolm": best,
        "speedup_vs_hf_llama": runs[best]["tokens_per_s"] / runs["hf_llama"]["tokens_per_s"],
        "mfu": runs[best]["mfu"],
        "targets": {"speedup_vs_hf_llama": 1.5, "mfu": 0.35},
        "notes": "bioLM: fused QKV and gate/up, SDPA, fused AdamW; HF: LlamaForCausalLM (sdpa), default "
                 "AdamW (foreach), same bf16 autocast loop. MFU counts 6N + 12*L*C*T FLOPs per token.",
    }


def machine_info(device: str) -> dict:
    info = {"platform": platform.platform(), "processor": platform.processor(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0]}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, few steps (checks the script)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model (default 8; quick 3)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time bioLM with torch.compile'd blocks (default: on, off with --quick)")
    args = parser.parse_args(argv)
    with_compile = (not args.quick) if args.compile is None else args.compile
    shapes = QUICK if args.quick else (GPU if args.device == "cuda" else Shapes())
    steps = args.steps or (3 if args.quick else 8)
    warmup = 1 if args.quick else 3
    result = {"benchmark": "train_speed", "quick": args.quick, "device": args.device,
              "machine": machine_info(args.device)}
    # Section 1: training step speed and MFU (bioLM vs transformers' Llama).
    result["speed"] = speed_section(shapes, args.device, steps, warmup, with_compile)
    # Section 2 (training work): quality, bits per base against gzip / bzip2 / xz.
    result["machine"]["load_average_1min_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
