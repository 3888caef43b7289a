"""Training speed of bioLM's GPT against transformers' Llama, and MFU; prints one JSON object.

Section "speed" (issue 4, section 5): same shapes for both models (default: width 384, 6 layers, 6 heads,
context 512, batch 8, vocab 4,096, SwiGLU, untied, ~14M parameters), one training step = forward + backward
+ AdamW step, under bf16 autocast where the hardware runs bf16 natively (CUDA, AMX / AVX512-BF16 CPUs), else in
fp32 (``--dtype`` overrides; see ``bioLM.hardware``). bioLM's step is the one ``biolm pretrain`` runs
(``bioLM.training.module.next_token_nats`` on a ``(B, T+1)`` batch, the loss being its mean), eager and with
``compile_blocks``. Reported: tokens/s (median step time after warm-up), the
speed-up over a plain PyTorch loop around ``transformers.LlamaForCausalLM``, and
MFU = tokens/s * flops_per_token / measured matmul peak in the same dtype (``bioLM.model.flops``).

    python benchmarks/train_speed.py                 # CPU, the 14M shapes
    python benchmarks/train_speed.py --quick         # tiny shapes, a few steps: checks the script works
    python benchmarks/train_speed.py --device cuda   # the `base` preset on a GPU
    python benchmarks/train_speed.py --no-compile    # skip the torch.compile'd bioLM run (compiling takes minutes)
    python benchmarks/train_speed.py --threads 1     # one thread (step and peak); CPU-time figures stay fair
                                                     # on a shared machine

    python benchmarks/train_speed.py --quality       # also pretrain on E. coli, bits per base vs gzip/bzip2/xz

The "quality" section (``--quality``) is ``benchmarks/train_quality.py``: dna-char-tiny and dna-kmer6-small
pretrained on two E. coli genomes, scored on a third held out, next to gzip -9, bzip2 -9 and xz -9e.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bioLM.hardware import autocast_dtype
from bioLM.model import (
    BioLMForCausalLM,
    compile_blocks,
    config_from_preset,
    flops_per_token,
    measure_matmul_peak,
)
from bioLM.training.module import next_token_nats


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


def labels_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The Hugging Face way: ``model(input_ids, labels=input_ids).loss`` (batch (B, T), T-1 predictions)."""
    return model(input_ids=batch, labels=batch).loss


def pretraining_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """``biolm pretrain``'s step: mean of :func:`next_token_nats` over a (B, T+1) batch (T predictions)."""
    return next_token_nats(model, batch)[0].mean()


@dataclass
class StepRunner:
    """One model, its AdamW and a fixed batch; ``step()`` times one training step under autocast(dtype)."""

    name: str
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    batch: torch.Tensor
    device: str
    dtype: torch.dtype
    loss_fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor] = labels_loss
    tokens: int = 0
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    loss: float = float("nan")
    warmup_wall_s: float = 0.0

    @classmethod
    def build(cls, name: str, model_factory: Callable[[], torch.nn.Module], *, batch_size: int, seq_len: int,
              vocab_size: int, device: str, dtype: torch.dtype, fused_adamw: bool,
              loss_fn: Callable = labels_loss) -> StepRunner:
        """``loss_fn`` :func:`pretraining_loss` gets a (B, T+1) batch (T inputs), :func:`labels_loss` (B, T)."""
        torch.manual_seed(0)
        model = model_factory().to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=fused_adamw or None)
        extra = 1 if loss_fn is pretraining_loss else 0
        batch = torch.randint(5, vocab_size, (batch_size, seq_len + extra), device=device)
        return cls(name, model, optimizer, batch, device, dtype, loss_fn, batch_size * seq_len)

    def step(self, record: bool = True) -> None:
        """Forward + backward + AdamW step; appends wall and process CPU seconds when ``record``."""
        sync(self.device)
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast(torch.device(self.device).type, dtype=self.dtype,
                            enabled=self.dtype != torch.float32):
            loss = self.loss_fn(self.model, self.batch)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync(self.device)
        if record:
            self.wall_s.append(time.perf_counter() - start)
            self.cpu_s.append(time.process_time() - cpu_start)
        self.loss = float(loss.detach())

    def summary(self, threads: int) -> dict:
        """Median step seconds; tokens/s by wall clock and by CPU time (process CPU seconds / threads)."""
        tokens = self.tokens
        wall, cpu = statistics.median(self.wall_s), statistics.median(self.cpu_s)
        return {"step_s_median": wall, "step_s_all": [round(t, 4) for t in self.wall_s],
                "process_cpu_s_median": cpu, "tokens_per_s": tokens / wall,
                "tokens_per_cpu_s": tokens * threads / cpu, "final_loss": self.loss,
                "parameters": sum(p.numel() for p in self.model.parameters())}


def run_interleaved(runners: list[StepRunner], steps: int, warmup: int) -> None:
    """Warm each runner up (compiles), then time the runners' steps round-robin, so that a change of machine
    load hits every model alike."""
    for runner in runners:
        start = time.perf_counter()
        for _ in range(warmup):
            runner.step(record=False)
        runner.warmup_wall_s = time.perf_counter() - start
    for _ in range(steps):
        for runner in runners:
            runner.step()


def measure_step_speed(model_factory: Callable[[], torch.nn.Module], *, batch_size: int, seq_len: int,
                       vocab_size: int, device: str = "cpu", dtype: torch.dtype = torch.bfloat16,
                       steps: int = 6, warmup: int = 2, fused_adamw: bool = False) -> dict:
    """Median seconds and tokens/s of a training step (forward + backward + AdamW) under autocast(dtype)."""
    runner = StepRunner.build("model", model_factory, batch_size=batch_size, seq_len=seq_len,
                              vocab_size=vocab_size, device=device, dtype=dtype, fused_adamw=fused_adamw)
    run_interleaved([runner], steps, warmup)
    return runner.summary(torch.get_num_threads())


def sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def cpu_clock() -> float:
    """Process CPU seconds divided by the thread count (= wall seconds when every thread computes)."""
    return time.process_time() / torch.get_num_threads()


def speed_section(shapes: Shapes, device: str, steps: int, warmup: int, with_compile: bool,
                  dtype: torch.dtype = torch.bfloat16) -> dict:
    """bioLM (eager, compiled) vs Llama tokens/s on the same shapes, timed interleaved, and bioLM's MFU
    against the ``dtype`` matmul peak measured with the same thread count (best of before and after the steps)."""
    threads = torch.get_num_threads()
    peak_size = 2048 if device == "cpu" else 8192
    peaks = [measure_matmul_peak(dtype, device, size=peak_size)]
    cpu_peaks = [measure_matmul_peak(dtype, device, size=peak_size, timer=cpu_clock)] \
        if device == "cpu" else []
    common = {"batch_size": shapes.batch_size, "seq_len": shapes.block_size, "vocab_size": shapes.vocab_size,
              "device": device, "dtype": dtype}
    runners = [StepRunner.build("hf_llama", llama_factory(shapes), fused_adamw=False, **common),
               StepRunner.build("biolm", biolm_factory(shapes), fused_adamw=True, loss_fn=pretraining_loss,
                                **common)]
    if with_compile:
        runners.append(StepRunner.build("biolm_compiled", biolm_factory(shapes, compile_model=True),
                                        fused_adamw=True, loss_fn=pretraining_loss, **common))
    run_interleaved(runners, steps, warmup)
    peaks.append(measure_matmul_peak(dtype, device, size=peak_size))
    if device == "cpu":
        cpu_peaks.append(measure_matmul_peak(dtype, device, size=peak_size, timer=cpu_clock))
    runs = {runner.name: runner.summary(threads) for runner in runners}
    if with_compile:
        runs["biolm_compiled"]["warmup_wall_s_including_compile"] = runners[-1].warmup_wall_s
        runs["biolm_compiled"]["final_loss_diff_vs_eager"] = abs(runs["biolm_compiled"]["final_loss"]
                                                                 - runs["biolm"]["final_loss"])
    config = runners[1].model.config
    flops = flops_per_token(config, shapes.block_size)
    peak, cpu_peak = max(peaks), max(cpu_peaks, default=float("nan"))
    for run in runs.values():
        run["mfu"] = run["tokens_per_s"] * flops / peak
        run["mfu_cpu_time"] = run["tokens_per_cpu_s"] * flops / cpu_peak
    best = max((k for k in runs if k.startswith("biolm")), key=lambda k: runs[k]["tokens_per_s"])
    hf = runs["hf_llama"]
    return {
        "shapes": asdict(shapes), "threads": threads, "flops_per_token": flops,
        "dtype": str(dtype).removeprefix("torch."), "matmul_peak_flops": peak, "matmul_peak_flops_all": peaks,
        "matmul_peak_flops_cpu_time": cpu_peak, "runs": runs, "best_biolm": best,
        "hf_llama_tokens_per_s": hf["tokens_per_s"], "biolm_eager_tokens_per_s": runs["biolm"]["tokens_per_s"],
        "biolm_best_tokens_per_s": runs[best]["tokens_per_s"],
        "speedup_vs_hf_llama": runs[best]["tokens_per_s"] / hf["tokens_per_s"],
        "speedup_vs_hf_llama_cpu_time": runs[best]["tokens_per_cpu_s"] / hf["tokens_per_cpu_s"],
        "mfu": runs[best]["mfu"], "mfu_cpu_time": runs[best]["mfu_cpu_time"],
        "targets": {"speedup_vs_hf_llama": 1.5, "mfu": 0.35},
        "notes": "Steps of the models are timed round-robin after warm-up. bioLM: fused QKV and gate/up, SDPA, "
                 "fused AdamW, the pretraining step (next_token_nats); compiled = compile_blocks (blocks, CPU "
                 "causal-attention backward, token_log_probs). HF: "
                 "LlamaForCausalLM (sdpa), default AdamW (foreach), same loop and dtype. MFU counts "
                 "6N + 12*L*C*T FLOPs per token; *_cpu_time figures use process CPU seconds / threads for both "
                 "the steps and the peak (robust to other processes on a shared machine).",
    }


def machine_info(device: str) -> dict:
    info = {"platform": platform.platform(), "processor": platform.processor(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "load_average_1_5_15min": list(os.getloadavg())}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, few steps (checks the script)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model (default 8; quick 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time bioLM with torch.compile'd blocks (default: on, off with --quick)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"],
                        help="training dtype: auto = bf16 where the hardware runs it natively, else fp32")
    parser.add_argument("--quality", action="store_true",
                        help="add the quality section (benchmarks/train_quality.py; up to ~1 hour on 2 cores)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with_compile = (not args.quick) if args.compile is None else args.compile
    shapes = QUICK if args.quick else (GPU if args.device == "cuda" else Shapes())
    steps = args.steps or (3 if args.quick else 8)
    warmup = 1 if args.quick else 3
    result = {"benchmark": "train_speed", "quick": args.quick, "device": args.device,
              "machine": machine_info(args.device)}
    # Section 1: training step speed and MFU (bioLM vs transformers' Llama).
    dtype = autocast_dtype(args.dtype, args.device) or torch.float32
    result["speed"] = speed_section(shapes, args.device, steps, warmup, with_compile, dtype)
    # Section 2: quality, bits per base on a held-out E. coli genome against gzip / bzip2 / xz.
    if args.quality:
        import train_quality

        result["quality"] = train_quality.run_quality(args.quick)
    result["machine"]["load_average_1_5_15min_after"] = list(os.getloadavg())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
