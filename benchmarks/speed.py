"""Speed suite: the I/O, tokenizer, training-step and embedding benchmarks in ONE process, plus the machine's
measured matmul peak (bf16, fp32) and memory bandwidth; writes one JSON and a Markdown table of ratios
against the peers each script measures in the same run. Prints the JSON to stdout.

    .venv/bin/python benchmarks/speed.py --out speed.json            # full sizes (the lead's quiet machine)
    .venv/bin/python benchmarks/speed.py --quick --out speed.json    # small sizes: checks that it runs
    .venv/bin/python benchmarks/speed.py --device cuda --out speed-gpu.json

Each script is imported as a module and its ``main`` called with its own ``--quick`` flag; its printed JSON is
captured. The Markdown table (``--out`` with ``.md``) lists every ratio the scripts report (keys containing
``speedup``, ``ratio``, ``_vs_`` or ``mfu``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RATIO_KEY = re.compile(r"(speedup|ratio|_vs_|^mfu$)")


# Full sizes that would take hours on a 2-core CPU, cut to a subset there (~10 minutes); GPUs run everything.
CPU_SUBSETS = {"embed_speed": ["--proteins", "1000", "--dna-windows", "256"]}


def script_argv(name: str, quick: bool, device: str) -> list[str]:
    """Arguments of one script (its own --quick; the device for the training step; CPU subsets)."""
    argv = ["--quick"] if quick else []
    if name == "train_speed":
        argv += ["--device", device] + (["--no-compile"] if quick else [])
    if not quick and device == "cpu":
        argv += CPU_SUBSETS.get(name, [])
    return argv


def run_script(name: str, argv: list[str]) -> dict:
    """Import ``benchmarks/<name>.py``, call its ``main`` with ``argv``, return the JSON it printed."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    module = importlib.import_module(name)
    buffer, saved_argv = io.StringIO(), sys.argv
    start = time.perf_counter()
    try:
        sys.argv = [f"{name}.py", *argv]
        with contextlib.redirect_stdout(buffer):
            if inspect.signature(module.main).parameters:
                module.main(argv)
            else:
                module.main()
    except Exception as error:  # one failing script must not lose the others' figures
        return {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc(limit=3)}
    finally:
        sys.argv = saved_argv
    text = buffer.getvalue()
    try:
        result = json.loads(text[text.index("{"):])
    except ValueError:
        return {"error": "no JSON object in the output", "output_tail": text[-2000:]}
    result["wall_s"] = round(time.perf_counter() - start, 2)
    return result


def matmul_peaks(device: str, quick: bool) -> dict:
    """Measured matmul FLOP/s in bf16 and fp32 (``bioLM.model.flops.measure_matmul_peak``), and whether this
    machine runs bf16 natively (``bioLM.hardware.fast_bf16``; emulated bf16 is timed at size 512 only)."""
    from bioLM.hardware import fast_bf16
    from bioLM.model import measure_matmul_peak

    size = (1024 if quick else 2048) if device == "cpu" else (4096 if quick else 8192)
    native = fast_bf16(device)
    peaks = {f"{name}_matmul_tflops": round(measure_matmul_peak(
        dtype, device, size=size if native or dtype == torch.float32 else 512, repeats=3 if quick else 10) / 1e12, 3)
        for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32))}
    return {**peaks, "bf16_native": native}


def memory_bandwidth(quick: bool, repeats: int = 5) -> dict:
    """Host memory bandwidth: best ``np.copyto`` of a 256 MB (quick: 64 MB) array, read + write bytes / s."""
    n = (64 if quick else 256) * 2**20 // 8
    source, target = np.ones(n), np.empty(n)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return {"copy_gb_s": round(2 * source.nbytes / best / 1e9, 2), "array_mb": source.nbytes // 2**20}


def ratios(results: dict) -> list[tuple[str, str, float]]:
    """(script, dotted key, value) of every ratio-like number in the scripts' JSON."""
    found: list[tuple[str, str, float]] = []

    def walk(script: str, node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                dotted = f"{path}.{key}" if path else str(key)
                if key in ("targets", "target"):  # goals, not measurements
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool) and RATIO_KEY.search(str(key)):
                    found.append((script, dotted, float(value)))
                else:
                    walk(script, value, dotted)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                label = value.get("task", i) if isinstance(value, dict) else i
                walk(script, value, f"{path}[{label}]")

    for script, result in results.items():
        walk(script, result, "")
    return found


def markdown(report: dict) -> str:
    """The ratio table and the machine figures as Markdown."""
    machine = report["machine"]
    lines = [f"# Speed suite ({'quick' if report['quick'] else 'full'}, {report['device']})", "",
             f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs, torch threads {machine['torch_threads']}"
             f"{', GPU ' + machine['gpu'] if machine.get('gpu') else ''}; load average before/after "
             f"{machine['load_average_before']:.2f}/{machine['load_average_after']:.2f}.", "",
             "| measured peak | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in {**report["matmul_peak"], **report["memory_bandwidth"]}.items()]
    lines += ["", "| script | ratio (bioLM vs its peer, same run) | value |", "|---|---|---|"]
    lines += [f"| {script} | {key} | {value:.3g} |" for script, key, value in report["ratios"]]
    failed = [f"| {name} | error | {r['error']} |" for name, r in report["scripts"].items() if "error" in r]
    return "\n".join(lines + failed) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's quick sizes (checks it runs)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=["cpu", "cuda"], help="device of the matmul peak and the training step")
    parser.add_argument("--out", type=Path, default=Path("speed.json"),
                        help="JSON output; the Markdown table goes next to it (.md)")
    parser.add_argument("--only", nargs="+", choices=["io_speed", "tokenizer_speed", "train_speed", "embed_speed"],
                        default=["io_speed", "tokenizer_speed", "train_speed", "embed_speed"])
    args = parser.parse_args(argv)
    machine = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
               "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
               "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
               "load_average_before": os.getloadavg()[0]}
    start = time.perf_counter()
    report = {"benchmark": "speed", "quick": args.quick, "device": args.device, "machine": machine,
              "matmul_peak": matmul_peaks(args.device, args.quick), "memory_bandwidth": memory_bandwidth(args.quick)}
    report["scripts"] = {name: run_script(name, script_argv(name, args.quick, args.device)) for name in args.only}
    report["ratios"] = ratios(report["scripts"])
    machine["load_average_after"] = os.getloadavg()[0]
    report["wall_s"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    args.out.with_suffix(".md").write_text(markdown(report))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
