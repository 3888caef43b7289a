"""Summarization heads vs standard baselines; prints one JSON object.

Synthetic (runs now, data made here by ``bioLM.heads.evidence``):
1. motif: planted-motif sequences as per-position k-mer one-hot tokens; precision of the extractive head's
   top token on held-out sequences (selected token overlaps the motif), and how often it is the motif itself.
2. omics: ``make_classification`` (informative features first); recall of informative features and
   downstream LogisticRegression accuracy for SelectKBest(f_classif), SelectKBest(mutual_info_classif) and
   the extractive head at the same k, averaged over seeds.
3. reduction: accuracy of LogisticRegression on m dims from PCA vs the abstractive head (supervised and
   unsupervised) on a non-linear task (circles + high-variance noise features) and a linear one.
Real (needs a pretrained model; skipped until :func:`token_embeddings` is wired):
4. GUE prom_core_all: mean pooling + LR vs extractive + LR vs abstractive + LR, and a motif table of
   the k-mers the extractive head selects most often.

Usage: ``python benchmarks/heads.py [--quick] [--model DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, matthews_corrcoef
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from bioLM.heads import AbstractiveSummarizer, ExtractiveSummarizer
from bioLM.heads.evidence import (
    informative_recall,
    linear_task,
    motif_hit_rate,
    motif_task,
    omics_task,
    shell_task,
)

GUE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tasks" / "dna" / "gue" / "prom" \
    / "prom_core_all"
MOTIF = "TTGACA"


def motif_benchmark(quick: bool) -> dict:
    n_train, length = (200, 50) if quick else (1000, 200)
    X, y, _, _, _ = motif_task(n_train, length, MOTIF, k=len(MOTIF), seed=0)
    Xt, yt, starts, sequences, offsets = motif_task(200, length, MOTIF, k=len(MOTIF), seed=1)
    start = time.perf_counter()
    head = ExtractiveSummarizer(k=1, max_epochs=20, random_state=0).fit(X, y)
    selected = head.selected_items(Xt, offsets=offsets, sequences=sequences)
    motif_rows = [items[0] for items, label in zip(selected, yt) if label == 1]
    return {"n_train": n_train, "length": length, "motif": MOTIF,
            "precision_top1": motif_hit_rate(selected, starts, len(MOTIF)),
            "top1_is_motif": float(np.mean([item.text == MOTIF for item in motif_rows])),
            "fit_seconds": round(time.perf_counter() - start, 2)}


def omics_benchmark(quick: bool) -> dict:
    n_informative, seeds = 5, range(3 if quick else 10)
    rows: dict[str, list] = {"f_classif": [], "mutual_info_classif": [], "extractive": [], "all_features": []}
    for seed in seeds:
        X, y = omics_task(400, 30, n_informative, seed=seed)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
        selectors = {"f_classif": SelectKBest(f_classif, k=n_informative),
                     "mutual_info_classif": SelectKBest(mutual_info_classif, k=n_informative),
                     "extractive": ExtractiveSummarizer(k=n_informative, max_epochs=60, random_state=0)}
        for name, selector in selectors.items():
            pipe = make_pipeline(selector, LogisticRegression()).fit(X_train, y_train)
            rows[name].append((informative_recall(pipe[0].get_support(), n_informative),
                               pipe.score(X_test, y_test)))
        rows["all_features"].append((1.0, LogisticRegression().fit(X_train, y_train).score(X_test, y_test)))
    return {"n_samples": 400, "n_features": 30, "n_informative": n_informative, "k": n_informative,
            "seeds": len(seeds),
            "methods": {name: {"recall": round(float(np.mean([r for r, _ in v])), 3),
                               "accuracy": round(float(np.mean([a for _, a in v])), 3)}
                        for name, v in rows.items()}}


def reduction_benchmark(quick: bool) -> dict:
    m, n = 2, 400 if quick else 2000
    out = {}
    for name, (X, y) in {"shells_plus_noise": shell_task(n, 10, seed=0),
                         "linear": linear_task(n, 20, seed=0)}.items():
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
        pca = make_pipeline(PCA(m), LogisticRegression()).fit(X_train, y_train)
        supervised = make_pipeline(AbstractiveSummarizer(n_components=m, random_state=0),
                                   LogisticRegression()).fit(X_train, y_train)
        unsupervised = AbstractiveSummarizer(n_components=m, random_state=0).fit(X_train)
        lr = LogisticRegression().fit(unsupervised.transform(X_train), y_train)
        out[name] = {"pca": pca.score(X_test, y_test),
                     "abstractive_supervised": supervised.score(X_test, y_test),
                     "abstractive_unsupervised": lr.score(unsupervised.transform(X_test), y_test)}
    return {"n_components": m, "n_samples": n, "accuracy": out}


# ---- real task: GUE prom_core_all ------------------------------------------------------------------
def token_embeddings(sequences: Sequence[str], model_dir: str | Path
                     ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-token last-layer embeddings of ``sequences`` from an exported bioLM model, with token offsets.

    Returns (embeddings, offsets): ``embeddings[i]`` ``(L_i, d)`` for the tokens of sequence ``i`` (``<bos>``
    dropped), ``offsets[i]`` ``(L_i, 2)`` their 0-based half-open base spans.
    """
    from bioLM.embedding import embed, load
    from bioLM.tokenization import token_offsets

    model, tokenizer = load(model_dir)
    embeddings = embed(list(sequences), model, tokenizer, layers=(-1,), pooling="per-token")[-1]
    offsets = [token_offsets(tokenizer, s) for s in sequences]
    for e, o in zip(embeddings, offsets):
        assert len(e) == len(o), "one offset per token"
    return [np.asarray(e, dtype=np.float32) for e in embeddings], offsets


def read_gue(split: str, limit: int | None) -> tuple[list[str], np.ndarray]:
    """(sequences, labels) of one GUE split (train/dev/test csv: sequence,label)."""
    with open(GUE_DIR / f"{split}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    return [r["sequence"] for r in rows], np.array([int(r["label"]) for r in rows])


def gue_benchmark(quick: bool, model_dir: str | None) -> dict:
    if model_dir is None or not GUE_DIR.is_dir():
        return {"status": "skipped", "reason": "needs --model DIR and ../shared/data/tasks/dna/gue"}
    n_train, n_test = (500, 300) if quick else (5000, 2000)
    train_seqs, y_train = read_gue("train", n_train)
    test_seqs, y_test = read_gue("test", n_test)
    X_train, _ = token_embeddings(train_seqs, model_dir)
    X_test, test_offsets = token_embeddings(test_seqs, model_dir)
    mean_lr = LogisticRegression(max_iter=1000).fit([x.mean(0) for x in X_train], y_train)
    extractive = make_pipeline(ExtractiveSummarizer(k=4, random_state=0), LogisticRegression(max_iter=1000))
    abstractive = make_pipeline(AbstractiveSummarizer(n_components=16, random_state=0),
                                LogisticRegression(max_iter=1000))
    extractive.fit(X_train, y_train)
    abstractive.fit(X_train, y_train)
    selected = extractive[0].selected_items(X_test, offsets=test_offsets, sequences=test_seqs)
    table = Counter(item.text for items, label in zip(selected, y_test) if label == 1 for item in items)
    predictions = {"mean_pool_lr": mean_lr.predict([x.mean(0) for x in X_test]),
                   "extractive_lr": extractive.predict(X_test), "abstractive_lr": abstractive.predict(X_test)}
    return {"status": "ok", "model": str(model_dir), "n_train": len(y_train), "n_test": len(y_test),
            "accuracy": {name: float(accuracy_score(y_test, p)) for name, p in predictions.items()},
            "mcc": {name: float(matthews_corrcoef(y_test, p)) for name, p in predictions.items()},
            "motif_table": table.most_common(20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script works")
    parser.add_argument("--model", default=None, help="exported model directory for the GUE task")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    start = time.perf_counter()
    result = {"benchmark": "heads", "quick": args.quick, "machine": platform.machine(),
              "motif": motif_benchmark(args.quick), "omics": omics_benchmark(args.quick),
              "reduction": reduction_benchmark(args.quick), "gue_prom_core_all": gue_benchmark(args.quick,
                                                                                                args.model)}
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
