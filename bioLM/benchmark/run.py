"""``run_benchmark(suite, data_dir, out_dir)``: model (exported or pretrained first) -> every task, evaluator,
baseline and seed -> ``results.json``, ``report.md`` and PNG plots in ``out_dir``.

A run of hours can be stopped and run again with the same ``--out``: pretraining resumes from its last
checkpoint (or is reused once its model is exported), and every finished task is read back from
``out_dir/tasks/<name>.json`` when the suite settings, the task and the model are unchanged (``threads`` aside)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bioLM.benchmark import metrics as M
from bioLM.benchmark.baselines import run_baseline
from bioLM.benchmark.evaluators import TaskEmbeddings, run_evaluator
from bioLM.benchmark.report import json_default
from bioLM.benchmark.suite import FINETUNED, Suite, TaskSpec
from bioLM.errors import ConfigError, InputFormatError
from bioLM.finetuning.tasks import find_leakage, prepare_task
from bioLM.io.atomic import atomic_write
from bioLM.io.fingerprint import content_fingerprint

logger = logging.getLogger(__name__)


@dataclass
class ModelUnderTest:
    """The model directory, and the pretraining run that made it (when the suite ran one)."""

    path: Path | None
    pretraining: dict | None = None


@dataclass
class BenchmarkResult:
    """Everything measured; ``results`` is what results.json holds, ``predictions`` feed the plots."""

    results: dict
    predictions: dict[str, dict] = field(default_factory=dict)
    out_dir: Path = Path(".")


def prepare_model(suite: Suite, data_dir: Path, out_dir: Path) -> ModelUnderTest:
    """The exported model of ``suite.model.path``, or run ``suite.model.recipe`` on its inputs first."""
    spec = suite.model
    if spec.path:
        path = suite.resolve(spec.path)
        if not path.is_dir():
            raise ConfigError(f"model directory {path} does not exist (suite model.path={spec.path!r})")
        return ModelUnderTest(path)
    if not spec.recipe:
        return ModelUnderTest(None)
    from bioLM.training import Recipe
    from bioLM.training.curves import read_metric_logs
    from bioLM.training.pretraining import pretrain

    run_dir = out_dir / "pretrain"
    recipe = Recipe.from_yaml(suite.resolve(spec.recipe), [*spec.overrides, f"trainer.out_dir={run_dir}",
                                                           "trainer.progress_bar=false"])
    inputs = [data_dir / name for name in spec.inputs]
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise ConfigError(f"pretraining input(s) {missing} do not exist; check --data-dir and model.inputs")
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, inputs=[str(p) for p in inputs]),
                                 resume=True)  # a stopped benchmark run continues from its last checkpoint
    done = run_dir / "pretraining.json"
    earlier = _read_json(done) if (run_dir / "model").is_dir() else None
    if earlier is not None and "recipe" in earlier:  # unreadable: pretraining resumes and rewrites it
        if earlier["recipe"] != json.loads(json.dumps(recipe.to_dict(), default=json_default)):
            raise ConfigError(f"{run_dir} holds the pretraining of a different recipe; give a new --out (or "
                              "delete that folder to pretrain again)")
        logger.info("reusing the pretrained model of an earlier run: %s", run_dir / "model")
        return ModelUnderTest(run_dir / "model", earlier)
    start = time.perf_counter()
    model_dir = pretrain(recipe)
    logged = read_metric_logs(run_dir)
    last = {k: v[max(v)] for k, v in logged.items() if v and k in ("val_bits_per_base", "train_bits_per_base",
                                                                    "tokens_seen", "val_loss")}
    pretraining = {"recipe": recipe.to_dict(), "run_dir": str(run_dir), "wall_s": time.perf_counter() - start,
                   "final": last, "learning_curve": {k: {str(s): v for s, v in sorted(logged.get(k, {}).items())}
                                                     for k in ("train_bits_per_base", "val_bits_per_base",
                                                               "tokens_seen")}}
    atomic_write(done, lambda tmp: tmp.write_text(json.dumps(pretraining, default=json_default)))
    return ModelUnderTest(Path(model_dir), pretraining)


def task_key(suite: Suite, spec: TaskSpec, model_fingerprint: list | None) -> str:
    """What a finished task's result depends on: the suite's settings (all but ``threads`` and the task
    list), the task and the model's files (``content_fingerprint`` of its directory). sha256 hex."""
    settings = {k: v for k, v in suite.to_dict().items() if k not in ("tasks", "threads", "name", "published")}
    text = json.dumps({"suite": settings, "task": dataclasses.asdict(spec), "model": model_fingerprint},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _reuse_task(out_dir: Path, spec: TaskSpec, key: str) -> tuple[dict, dict | None] | None:
    """The saved result (and plot predictions) of ``spec`` when an earlier run finished it with ``key``."""
    saved = _read_json(out_dir / "tasks" / f"{spec.name}.json")  # unreadable: the task runs again
    if saved is None or saved.get("key") != key or not isinstance(saved.get("result"), dict):
        return None
    predictions = None
    if saved["result"].get("type") == "classification":
        npz = out_dir / "predictions" / f"{spec.name}.npz"
        if not npz.is_file():
            return None
        with np.load(npz) as arrays:
            predictions = {"y": arrays["y"], "probabilities": {name: arrays[name][0] for name in arrays.files
                                                               if name not in ("y", "seeds")}}
    return saved["result"], predictions


def _read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _save_task(out_dir: Path, spec: TaskSpec, key: str, result: dict) -> None:
    text = json.dumps({"key": key, "result": result}, default=json_default)
    atomic_write(out_dir / "tasks" / f"{spec.name}.json", lambda tmp: tmp.write_text(text))


def _metric_block(y: np.ndarray, predictions: list[np.ndarray], metric_names: list[str], n_boot: int) -> dict:
    return {name: M.summarize(M.CLASSIFICATION[name], y, predictions, n_boot).as_dict() for name in metric_names}


def classification_task(suite: Suite, spec: TaskSpec, data_dir: Path, model: ModelUnderTest,
                        predictions_dir: Path) -> tuple[dict, dict]:
    """Every evaluator and baseline on one task, every seed; (result dict, seed-0 probabilities per method).

    Each evaluator is compared with each baseline on the primary metric (MCC) by a paired bootstrap of the
    difference (``comparisons``); every seed's test probabilities are written to ``predictions_dir``."""
    task = prepare_task(data_dir / spec.path, spec.format, spec.split_seed, spec.max_train, spec.max_test)
    if task.kind != "classification":
        raise InputFormatError(f"task {spec.name!r} has non-integer labels; benchmark classification tasks "
                               "need class labels", path=data_dir / spec.path)
    train, test = task.splits["train"], task.splits["test"]
    leakage = find_leakage(train.sequences, test.sequences)
    keep = leakage.keep_mask()
    names = ["auroc", "mcc", "accuracy"] + (["macro_accuracy"] if task.num_labels > 2 else [])
    embeddings = None
    if suite.evaluators and model.path is not None:
        from bioLM.model.loading import load

        net, tokenizer = load(model.path, device=suite.device, precision=suite.precision)
        embeddings = TaskEmbeddings(net, tokenizer, train.sequences, test.sequences, suite.embed_max_tokens,
                                    suite.probe_layers, suite.window_overlap, task.splits["validation"].sequences,
                                    suite.rc_average and task.alphabet == "dna")
    methods = [(n, "evaluator") for n in suite.evaluators] + [
        (n, "baseline") for n in suite.baselines if n != "aa-composition" or task.alphabet == "protein"]
    rows, every_seed = [], {}
    for name, role in methods:
        start, probabilities, details = time.perf_counter(), [], []
        for seed in suite.seeds:
            if role == "evaluator":
                p, detail = run_evaluator(name, embeddings, task, model.path, suite, seed)
                details.append(detail)
            else:
                p = run_baseline(name, train.sequences, train.labels, test.sequences, task.alphabet,
                                 suite.budget, seed)
            probabilities.append(np.asarray(p, dtype=np.float64))
        wall = time.perf_counter() - start
        every_seed[name] = probabilities
        row = {"method": name, "role": role, "wall_s": wall,
               "metrics": _metric_block(test.labels, probabilities, names, suite.bootstrap)}
        if any(details):
            row["details"] = details  # one per seed: chosen probe layer, fine-tuning epochs
        if leakage.n_duplicates:
            row["dedup_metrics"] = _metric_block(test.labels[keep], [p[keep] for p in probabilities], names,
                                                 suite.bootstrap)
        logger.info("%s / %s: %s", spec.name, name,
                    {k: round(v["value"], 4) for k, v in row["metrics"].items() if v["value"] is not None})
        rows.append(row)
    comparisons = [{"evaluator": a, "baseline": b, "metric": "mcc",
                    **M.paired_difference(M.mcc, test.labels, every_seed[a], every_seed[b], suite.bootstrap)}
                   for a, role_a in methods if role_a == "evaluator"
                   for b, role_b in methods if role_b == "baseline"]
    gains = pretraining_gains(test.labels, every_seed, suite.bootstrap)
    predictions_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(predictions_dir / f"{spec.name}.npz", y=test.labels, seeds=np.asarray(suite.seeds),
                        **{name: np.stack(p) for name, p in every_seed.items()})
    result = {"name": spec.name, "type": "classification", "path": str(spec.path), "primary_metric": "mcc",
              "classes": task.label_names, "alphabet": task.alphabet,
              "sizes": {s: len(task.splits[s]) for s in task.splits}, "leakage": leakage.as_dict(), "rows": rows,
              "comparisons": comparisons, "pretraining_gain": gains}
    return result, {"y": test.labels, "probabilities": {name: p[0] for name, p in every_seed.items()}}


def pretraining_gains(y: np.ndarray, every_seed: dict[str, list[np.ndarray]], n_boot: int) -> list[dict]:
    """MCC of each fine-tuned evaluator (``finetune``, ``finetune-lora``) minus ``scratch`` (same architecture,
    budget and seeds, random init), with a paired bootstrap CI over the test items; empty without ``scratch``."""
    if "scratch" not in every_seed:
        return []
    return [{"method": name, "control": "scratch", "metric": "mcc",
             **M.paired_difference(M.mcc, y, every_seed[name], every_seed["scratch"], n_boot)}
            for name in FINETUNED if name in every_seed]


def _fitness(path: Path, column: str) -> np.ndarray:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            raise InputFormatError(f"no column {column!r}; columns: {reader.fieldnames}", path=path, line=1)
        return np.asarray([float(r[column]) if r[column] not in ("", "NA", "nan") else np.nan for r in reader])


def mutations_task(suite: Suite, spec: TaskSpec, data_dir: Path, model: ModelUnderTest, out_dir: Path) -> dict:
    """Zero-shot mutation scores (LL mutant - LL wild type) against measured fitness: Spearman with CI."""
    from bioLM.scoring.mutations import read_wild_type, score_mutations

    csv_path = data_dir / spec.path
    wild_type = read_wild_type(data_dir / spec.wild_type)
    start = time.perf_counter()
    scored = score_mutations(model.path, wild_type, csv_path, out_dir / f"{spec.name}.scores.csv",
                             mutation_column=spec.mutation_column, progress=False, device=suite.device,
                             precision=suite.precision)
    fitness = _fitness(csv_path, spec.fitness_column)
    scores = np.asarray(scored.scores)
    ok = np.isfinite(fitness)
    estimate = M.summarize(M.spearman, fitness[ok], [scores[ok]], suite.bootstrap)
    return {"name": spec.name, "type": "mutations", "path": str(spec.path), "primary_metric": "spearman",
            "sizes": {"variants": int(ok.sum())},
            "rows": [{"method": f"zero-shot {scored.scoring}", "scoring": scored.scoring, "role": "evaluator",
                      "wall_s": time.perf_counter() - start, "metrics": {"spearman": estimate.as_dict()}}]}


def compression_task(suite: Suite, spec: TaskSpec, data_dir: Path, model: ModelUnderTest) -> dict:
    """Bits per base/residue of each file against gzip / bzip2 / xz."""
    from bioLM.benchmark.bits_per_base import file_bits_with_ci

    files = []
    for name in spec.files:
        path = data_dir / name
        if not path.exists():
            raise ConfigError(f"compression file {path} does not exist; check --data-dir and the task's 'files'")
        start = time.perf_counter()
        entry = file_bits_with_ci(model.path, path, spec.max_letters, suite.bootstrap, suite.seeds[0])
        entry["name"], entry["wall_s"] = name, time.perf_counter() - start
        files.append(entry)
    return {"name": spec.name, "type": "compression", "primary_metric": "bits_per_letter", "files": files}


def summarize_run(tasks: list[dict]) -> dict:
    """Across classification tasks: the pretraining gain per task, and per evaluator / baseline pair how many
    tasks the evaluator is better, worse or not resolved (paired bootstrap verdicts on MCC)."""
    gains = [{"task": t["name"], **g} for t in tasks for g in t.get("pretraining_gain", [])]
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for task in tasks:
        for c in task.get("comparisons", []):
            tally = counts.setdefault((c["evaluator"], c["baseline"]), {"better": 0, "worse": 0, "not resolved": 0})
            tally[c["verdict"]] += 1
    return {"pretraining_gain": gains,
            "verdicts": [{"evaluator": e, "baseline": b, **tally} for (e, b), tally in counts.items()]}


def environment() -> dict:
    """Versions and hardware for results.json."""
    import os
    import platform

    import sklearn
    import transformers

    import bioLM
    from bioLM.hardware import cpu_flags, cpu_model, fast_bf16, resolve_precision

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"versions": {"bioLM": bioLM.__version__, "python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__, "scikit-learn": sklearn.__version__,
                         "numpy": np.__version__},
            "hardware": {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
                         "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
                         "cpu_model": cpu_model(), "cpu_bf16_flags": sorted(f for f in cpu_flags() if "bf16" in f),
                         "bf16_native": fast_bf16("cuda" if gpu else "cpu"),
                         "precision_auto": resolve_precision("auto"),
                         "platform": platform.platform()}}


def run_benchmark(suite: Suite, data_dir: str | Path, out_dir: str | Path) -> BenchmarkResult:
    """Run ``suite`` on the data under ``data_dir``; write results.json, report.md and plots to ``out_dir``."""
    from bioLM.benchmark.plots import write_plots
    from bioLM.benchmark.report import write_report

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"--data-dir {data_dir} is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    if suite.threads:
        torch.set_num_threads(suite.threads)
    try:
        outcome = _run(suite, data_dir, out_dir)
    finally:
        torch.set_num_threads(threads)
    results = outcome.results
    results["plots"] = [str(p.relative_to(out_dir)) for p in write_plots(outcome)]
    write_report(outcome)
    return outcome


def _run(suite: Suite, data_dir: Path, out_dir: Path) -> BenchmarkResult:
    started, start = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    model = prepare_model(suite, data_dir, out_dir)
    tasks, predictions = [], {}
    fingerprint = content_fingerprint(model.path)[1:] if model.path is not None else None  # size, sha256
    for spec in suite.tasks:
        key = task_key(suite, spec, fingerprint)
        reused = _reuse_task(out_dir, spec, key)
        if reused is not None:
            logger.info("task %s: reusing the result of an earlier run (%s)", spec.name, out_dir / "tasks")
            tasks.append(reused[0])
            if reused[1] is not None:
                predictions[spec.name] = reused[1]
            continue
        task_start = time.perf_counter()
        if spec.type == "classification":
            result, predictions[spec.name] = classification_task(suite, spec, data_dir, model,
                                                                  out_dir / "predictions")
        elif spec.type == "mutations":
            result = mutations_task(suite, spec, data_dir, model, out_dir)
        else:
            result = compression_task(suite, spec, data_dir, model)
        result["wall_s"] = time.perf_counter() - task_start
        _save_task(out_dir, spec, key, result)
        tasks.append(result)
    results = {"suite": suite.to_dict(), "data_dir": str(data_dir), "started_utc": started,
               "model": {"path": str(model.path) if model.path else None, "pretraining": model.pretraining},
               "seeds": list(suite.seeds), "bootstrap": suite.bootstrap, **environment(), "tasks": tasks,
               "published": [p.__dict__ for p in suite.published]}
    results["summary"] = summarize_run(tasks)
    results["wall_s"] = time.perf_counter() - start
    return BenchmarkResult(results, predictions, out_dir)
