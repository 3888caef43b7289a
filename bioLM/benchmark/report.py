"""``results.json`` (every number) and ``report.md`` (tables a person reads) of a benchmark run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def json_default(value):
    """JSON for the numpy scalars and arrays and the paths in a results dict (non-finite numpy floats: None)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def sanitize(value):
    """A copy of ``value`` with NaN/inf floats replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _num(value, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _cell(estimate: dict) -> str:
    """``0.912 [0.890, 0.931] ±0.004``: value, 95% CI, sd over seeds (when more than one seed)."""
    text = f"{_num(estimate['value'])} [{_num(estimate['ci'][0])}, {_num(estimate['ci'][1])}]"
    if len(estimate.get("seeds", [])) > 1:
        text += f" ±{_num(estimate['sd'])}"
    return text


def _classification_section(task: dict) -> list[str]:
    rows = task["rows"]
    metrics = list(rows[0]["metrics"]) if rows else []
    leak = task["leakage"]
    lines = [f"### {task['name']} ({task['type']}, primary metric: {task['primary_metric'].upper()})", "",
             f"Data: `{task['path']}`; sizes {task['sizes']}; classes {task['classes']}.",
             f"Leakage: {leak['exact_duplicates_of_train']} of {leak['test_items']} test sequences also occur "
             f"exactly in train" + ("; de-duplicated scores are given beside the raw ones." if
                                    leak["exact_duplicates_of_train"] else "."), "",
             "| method | role | " + " | ".join(metrics) + " | wall s |",
             "|---|---|" + "---|" * len(metrics) + "---|"]
    for row in rows:
        lines.append(f"| {row['method']} | {row['role']} | "
                     + " | ".join(_cell(row["metrics"][m]) for m in metrics) + f" | {row['wall_s']:.1f} |")
    dedup = [r for r in rows if "dedup_metrics" in r]
    if dedup:
        lines += ["", f"De-duplicated test set ({leak['test_items_after_dedup']} items):", "",
                  "| method | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
        lines += [f"| {r['method']} | " + " | ".join(_cell(r["dedup_metrics"][m]) for m in metrics) + " |"
                  for r in dedup]
    if task.get("comparisons"):
        lines += ["", "Evaluator minus baseline, MCC, paired bootstrap over the same test resamples (a CI that excludes "
                  "0 says the difference is real):", "", "| evaluator | baseline | difference [95% CI] | verdict |",
                  "|---|---|---|---|"]
        lines += [f"| {c['evaluator']} | {c['baseline']} | {_num(c['difference'])} [{_num(c['ci'][0])}, "
                  f"{_num(c['ci'][1])}] | {c['verdict']} |" for c in task["comparisons"]]
    if task.get("pretraining_gain"):
        lines += ["", "Pretraining gain: fine-tuned pretrained model minus the same architecture fine-tuned from "
                  "random init (`scratch`, same budget and seeds), MCC, paired bootstrap:", "",
                  "| method | control | gain [95% CI] | verdict |", "|---|---|---|---|"]
        lines += [f"| {g['method']} | {g['control']} | {_num(g['difference'])} [{_num(g['ci'][0])}, "
                  f"{_num(g['ci'][1])}] | {g['verdict']} |" for g in task["pretraining_gain"]]
    layers = [(r["method"], [d["layer"] for d in r.get("details", []) if "layer" in d]) for r in rows]
    lines += [f"\n{method}: probe layer chosen on the validation split, per seed: {chosen}."
              for method, chosen in layers if chosen]
    return lines + [""]


def _summary(results: dict) -> list[str]:
    """Pretraining gain per task, and verdict counts per evaluator / baseline pair, across the tasks."""
    summary = results.get("summary") or {}
    gains, verdicts = summary.get("pretraining_gain", []), summary.get("verdicts", [])
    if not gains and not verdicts:
        return []
    lines = ["## Summary", ""]
    if gains:
        lines += ["Pretraining gain (MCC, fine-tuned pretrained minus fine-tuned from scratch; paired bootstrap):",
                  "", "| task | method | gain [95% CI] | verdict |", "|---|---|---|---|"]
        lines += [f"| {g['task']} | {g['method']} | {_num(g['difference'])} [{_num(g['ci'][0])}, "
                  f"{_num(g['ci'][1])}] | {g['verdict']} |" for g in gains]
        lines.append("")
    if verdicts:
        lines += ["Tasks where the evaluator is better / worse / not resolved against each baseline (MCC):", "",
                  "| evaluator | baseline | better | worse | not resolved |", "|---|---|---|---|---|"]
        lines += [f"| {v['evaluator']} | {v['baseline']} | {v['better']} | {v['worse']} | {v['not resolved']} |"
                  for v in verdicts]
        lines.append("")
    return lines


def _mutations_section(task: dict) -> list[str]:
    lines = [f"### {task['name']} (mutation scoring, Spearman)", "",
             f"Data: `{task['path']}`; {task['sizes']['variants']} variants with a measured fitness.", "",
             "| method | Spearman | wall s |", "|---|---|---|"]
    lines += [f"| {r['method']} | {_cell(r['metrics']['spearman'])} | {r['wall_s']:.1f} |" for r in task["rows"]]
    return lines + [""]


def _compression_section(task: dict) -> list[str]:
    lines = [f"### {task['name']} (bits per base / residue; lower is better)", "",
             "| file | unit | letters | bioLM [95% CI] | gzip-9 | bzip2-9 | xz-9e | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for f in task["files"]:
        c = f["classic"]
        lines.append(f"| `{f['name']}` | {f['unit']} | {f['letters']} | {_cell(f['model'])} | "
                     f"{_num(c['gzip-9'])} | {_num(c['bzip2-9'])} | {_num(c['xz-9e'])} | {f['wall_s']:.1f} |")
    return lines + [""]


def _header(results: dict) -> list[str]:
    suite, model = results["suite"], results["model"]
    lines = [f"# bioLM benchmark: {suite['name']}", "",
             f"Started {results['started_utc']}, wall time {results['wall_s']:.0f} s. Seeds {results['seeds']}; "
             f"95% CIs from {results['bootstrap']} bootstrap resamples of the test items (of the seed-averaged "
             "metric); ± is the standard deviation over seeds.", "",
             f"Hardware: {results['hardware']}.  ", f"Versions: {results['versions']}.", "",
             f"Model: `{model['path']}`."]
    pre = model.get("pretraining")
    if pre:
        final = {k: round(v, 4) for k, v in pre["final"].items()}
        lines.append(f"Pretrained in this run ({pre['wall_s']:.0f} s; recipe `{pre['recipe']['name']}`, "
                     f"{pre['recipe']['trainer']['max_steps']} steps, preset {pre['recipe']['model']['preset']}): "
                     f"final {final}. Learning curve: `plots/learning_curve.png`.")
    return lines + ["", "## Measured in this run", ""]


def _published(results: dict) -> list[str]:
    if not results["published"]:
        return []
    lines = ["## Published, different compute (not measured here)", "",
             "| task | method | metric | value | source |", "|---|---|---|---|---|"]
    lines += [f"| {p['task']} | {p['method']} | {p['metric']} | {p['value']} | {p['source']} |"
              for p in results["published"]]
    return lines + [""]


def render_markdown(results: dict) -> str:
    """The report text: header, one section per task, published numbers apart, the plots."""
    lines = _header(results)
    lines[-2:-2] = _summary(results)
    sections = {"classification": _classification_section, "mutations": _mutations_section,
                "compression": _compression_section}
    for task in results["tasks"]:
        lines += sections[task["type"]](task)
    lines += _published(results)
    if results.get("plots"):
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in results["plots"]] + [""]
    return "\n".join(lines)


def write_report(outcome) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.md`` into ``outcome.out_dir``; returns both paths."""
    out = Path(outcome.out_dir)
    json_path, md_path = out / "results.json", out / "report.md"
    json_path.write_text(json.dumps(sanitize(outcome.results), indent=1, default=json_default, allow_nan=False))
    md_path.write_text(render_markdown(outcome.results))
    return json_path, md_path
