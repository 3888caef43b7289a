"""Embedding speed: bioLM's ``embed()`` vs a naive loop, on real proteins (SCL2205) and 1 kb DNA windows.

Naive loop: batches of 32 in file order, padded to the longest, fp32, no sorting, the full causal-LM forward
(logits included) under ``torch.no_grad``, mean pooling. bioLM: token-budget batches sorted by length, bf16
autocast on GPU (``--precision``), ``inference_mode``, the base model only, pooling on the device. Both see the
same token ids (``<bos>`` + sequence) and the same model; the script checks that their mean embeddings agree
(fp32 reference vs bioLM, within bf16 tolerance when bf16 is used).

Without ``--model`` a random-init model and char tokenizers are built (``"model": "random-init ..."`` in the
JSON); speed does not depend on the weights. Proteins longer than the context are left out of both runs (the
naive loop cannot embed them; bioLM would window them) and counted in the JSON.

    .venv/bin/python benchmarks/embed_speed.py --quick
    .venv/bin/python benchmarks/embed_speed.py --model runs/protein/export --dna-model runs/dna/export
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bioLM.hardware import autocast_dtype

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PROTEINS = DATA / "tasks" / "protein" / "scl2205" / "scl2205.csv"
DNA = DATA / "dna" / "human_chr22_20-21M.fa"


def random_model(alphabet: str, preset: str, context: int, device: str):
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet=alphabet)
    torch.manual_seed(0)
    model = BioLMForCausalLM(config_from_preset(preset, len(tokenizer), block_size=context))
    return model.to(device).eval(), tokenizer


def read_proteins(limit: int | None, seed: int) -> list[str]:
    with open(PROTEINS, newline="") as handle:
        sequences = [row["seq"] for row in csv.DictReader(handle)]
    if limit is not None and limit < len(sequences):
        keep = np.sort(np.random.default_rng(seed).choice(len(sequences), limit, replace=False))
        sequences = [sequences[i] for i in keep]  # a random subset, in file order
    return sequences


def read_dna_windows(n: int, size: int = 1000) -> list[str]:
    from bioLM.io import iter_windows

    windows = []
    for window in iter_windows(DNA, size):
        if len(window.sequence) == size and window.sequence.count("N") < size // 10:
            windows.append(window.sequence)
            if len(windows) == n:
                break
    return windows


def naive_embed(sequences: list[str], model, tokenizer, batch_size: int = 32) -> np.ndarray:
    """The baseline: fixed batches in file order, padded to the longest, fp32, full model, mean pooling."""
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(sequences), batch_size):
            enc = tokenizer(sequences[i:i + batch_size], add_special_tokens=False, padding=True,
                            return_tensors="pt")
            ids, mask = enc["input_ids"], enc["attention_mask"]
            ids = torch.cat([torch.full((len(ids), 1), tokenizer.bos_token_id), ids], 1).to(device)
            mask = torch.cat([torch.ones((len(mask), 1), dtype=mask.dtype), mask], 1).to(device)
            hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
            content = mask.clone()
            content[:, 0] = 0
            content = content.unsqueeze(-1).float()
            out.append(((hidden * content).sum(1) / content.sum(1)).float().cpu().numpy())
    return np.concatenate(out)


def timed(function, *args, **kwargs):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = function(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def padding_fraction(lengths: list[int], batches: list[list[int]]) -> float:
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1.0 - sum(lengths) / padded


def compare(name: str, sequences: list[str], model, tokenizer, args) -> dict:
    from bioLM.embedding import embed
    from bioLM.model.batching import token_budget_batches

    lengths = [len(s) + 1 for s in sequences]  # char tokenizer: one token per residue, plus <bos>
    tokens = sum(lengths)
    naive_embed(sequences[:4], model, tokenizer)  # warm-up
    embed(sequences[:4], model, tokenizer, precision=args.precision)
    reference, naive_s = timed(naive_embed, sequences, model, tokenizer)
    ours, ours_s = timed(lambda: embed(sequences, model, tokenizer, [-1], "mean", max_tokens=args.max_tokens,
                                       precision=args.precision)[-1])
    cosine = np.sum(reference * ours, 1) / (np.linalg.norm(reference, axis=1) * np.linalg.norm(ours, axis=1))
    relative = np.abs(reference - ours).max() / np.abs(reference).max()
    uses_bf16 = autocast_dtype(args.precision, next(model.parameters()).device) is not None
    tolerance = 2e-2 if uses_bf16 else 1e-4
    return {
        "task": name, "sequences": len(sequences), "tokens": tokens,
        "length_min_median_max": [min(lengths) - 1, int(np.median(lengths)) - 1, max(lengths) - 1],
        "naive": {"seconds": round(naive_s, 3), "sequences_per_s": round(len(sequences) / naive_s, 2),
                  "tokens_per_s": round(tokens / naive_s, 1),
                  "padding_fraction": round(padding_fraction(lengths, [list(range(i, min(i + 32, len(lengths))))
                                                                       for i in range(0, len(lengths), 32)]), 3)},
        "bioLM": {"seconds": round(ours_s, 3), "sequences_per_s": round(len(sequences) / ours_s, 2),
                  "tokens_per_s": round(tokens / ours_s, 1),
                  "padding_fraction": round(padding_fraction(lengths, token_budget_batches(lengths, args.max_tokens)), 3)},
        "speedup": round(naive_s / ours_s, 2), "bioLM_bf16": uses_bf16,
        "agreement": {"min_cosine": float(cosine.min()), "max_abs_diff_relative": float(relative),
                      "tolerance_relative": tolerance, "identical_within_tolerance": bool(relative <= tolerance)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="exported protein model directory (default: random-init model)")
    parser.add_argument("--dna-model", help="exported DNA model directory (default: --model, else random-init)")
    parser.add_argument("--quick", action="store_true", help="small subset and tiny model: checks the script runs")
    parser.add_argument("--proteins", type=int, help="number of proteins (default: all; --quick: 96)")
    parser.add_argument("--dna-windows", type=int, help="number of 1 kb DNA windows (default 1024; --quick: 32)")
    parser.add_argument("--max-tokens", type=int, default=16384, help="bioLM token budget per batch (library default)")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not PROTEINS.is_file() or not DNA.is_file():
        print(json.dumps({"skipped": f"data not found under {DATA}"}))
        return 0
    from bioLM.embedding import load, model_context

    device = "cuda" if torch.cuda.is_available() else "cpu"
    preset = "tiny" if args.quick else "small"
    results, models = [], {}
    n_proteins = args.proteins or (96 if args.quick else None)
    for name, path, alphabet in (("proteins_scl2205", args.model, "protein"),
                                 ("dna_1kb_windows", args.dna_model or args.model, "dna")):
        if path:
            model, tokenizer = load(path, device=device)
            models[name] = str(path)
        else:
            model, tokenizer = random_model(alphabet, preset, 1024 + 1, device)
            models[name] = f"random-init preset {preset!r} (context 1025) + {alphabet} char tokenizer (no --model)"
        context = model_context(model, tokenizer)
        if alphabet == "protein":
            sequences = read_proteins(n_proteins, args.seed)
            kept = [s for s in sequences if len(s) + 1 <= context]
            result = compare(name, kept, model, tokenizer, args)
            result["left_out_longer_than_context"] = len(sequences) - len(kept)
        else:
            result = compare(name, read_dna_windows(args.dna_windows or (32 if args.quick else 1024)), model,
                             tokenizer, args)
        result["model"] = models[name]
        results.append(result)
    print(json.dumps({
        "benchmark": "embed_speed", "quick": args.quick, "device": device,
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
        "cpu_threads": torch.get_num_threads(), "machine": platform.platform(), "precision": args.precision,
        "max_tokens": args.max_tokens, "target": "proteins speedup >= 3 and identical within tolerance",
        "target_met": bool(results[0]["speedup"] >= 3 and results[0]["agreement"]["identical_within_tolerance"]),
        "results": results,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
