"""Suite YAML checking, the Genomic Benchmarks layout, seeded subsets and train/test leakage."""

from pathlib import Path

import numpy as np
import pytest

from bioLM.benchmark.suite import Suite
from bioLM.errors import ConfigError
from bioLM.finetuning.tasks import TaskSplit, find_leakage, load_benchmark_task, subset

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("model: {path: m}\ntasks:\n  - {name: a, path: p, pth: q}\n", r"unknown key 'tasks\[0\].pth'"),
    ("model: {path: m}\nevaluatorz: [embedding-lr]\n", "unknown key 'evaluatorz'"),
    ("model: {path: m}\nevaluators: [probe]\n", "unknown evaluator 'probe'"),
    ("model: {path: m}\nbaselines: [kmer-5]\n", "unknown baseline 'kmer-5'"),
    ("tasks: [{name: a, path: p}]\n", "'model' needs 'path'"),
    ("model: {path: m}\nseeds: [zero]\n", r"seeds\[0\] = 'zero' must be of type int"),
    ("model: {path: m}\nseeds: []\n", "at least one seed"),
    ("model: {path: m}\ntasks: [{path: p}]\n", "missing 'name'"),
    ("model: {path: m}\ntasks: [{name: c, type: compression}]\n", "needs 'files'"),
    ("model: {path: m}\ntasks: [{name: c, type: zip}]\n", "not one of"),
    ("model: [\n", "not valid YAML"),
    ("model: {path: m}\nprobe_layers: last\n", "probe_layers='last': give a list of layer indices"),
    ("model: {path: m}\nprobe_layers: [-1, top]\n", "give a list of layer indices"),
    ("model: {path: m}\nwindow_overlap: -1\n", "window_overlap=-1 must be >= 0"),
])
def test_suite_errors_name_the_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        Suite.from_yaml(path)
    assert "suite" in str(info.value)


def test_missing_suite_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Suite.from_yaml(tmp_path / "nope.yaml")


SUITES = sorted(path.stem for path in (REPO / "benchmarks" / "suites").glob("*.yaml"))


@pytest.mark.parametrize("name", SUITES)
def test_shipped_suites_parse(name):
    suite = Suite.from_yaml(REPO / "benchmarks" / "suites" / f"{name}.yaml")
    assert suite.name == name and suite.tasks
    assert suite.resolve(suite.model.recipe).is_file()
    data = REPO.parent / "shared" / "data"
    if data.is_dir():  # every file the suite names exists in the shared data
        paths = suite.model.inputs + [p for t in suite.tasks for p in [t.path, t.wild_type, *t.files] if p]
        missing = [p for p in paths if not (data / p).exists()]
        assert not missing, missing


def test_shipped_suite_list():
    assert {"dna-small", "dna-gue", "dna-gue-1h", "protein", "protein-cpu", "compression"} <= set(SUITES)


def test_leakage_finds_exact_duplicates():
    leakage = find_leakage(["ACGT", "GGGG", "TTTT"], ["ACGT", "ACGA", "TTTT", "CCCC"])
    assert leakage.duplicate_indices.tolist() == [0, 2]
    assert leakage.keep_mask().tolist() == [False, True, False, True]
    assert leakage.as_dict() == {"test_items": 4, "exact_duplicates_of_train": 2, "test_items_after_dedup": 2}


def test_subset_is_stratified_and_seeded():
    split = TaskSplit([f"A{i}" for i in range(100)], np.array([0] * 80 + [1] * 20))
    small = subset(split, 10, seed=0)
    assert len(small) == 10 and int(small.labels.sum()) == 2
    assert subset(split, 10, seed=0).sequences == small.sequences
    assert subset(split, None, seed=0) is split


def test_genomic_benchmarks_layout(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 6)):
        for label in ("negative", "positive"):
            folder = tmp_path / "demo" / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{i}.txt").write_text("".join(rng.choice(list("acgt"), 30)) + "\n")
    task = load_benchmark_task(tmp_path / "demo")
    assert task.label_names == ["negative", "positive"]
    assert len(task.splits["test"]) == 12 and len(task.splits["train"]) + len(task.splits["validation"]) == 40
    assert len(task.splits["validation"]) == 4
    assert task.splits["test"].sequences[0].isupper()


def test_genomic_benchmarks_with_fasta_per_class(tmp_path):
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        for label, seq in (("a", "ACGTACGT"), ("b", "GGGGCCCC")):
            (tmp_path / split / f"{label}.fa").write_text("".join(f">{label}{i}\n{seq}\n" for i in range(10)))
    task = load_benchmark_task(tmp_path, fmt="genomic-benchmarks")
    assert task.label_names == ["a", "b"] and task.splits["test"].labels.tolist() == [0] * 10 + [1] * 10


def test_missing_task_folder(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_benchmark_task(tmp_path / "missing")
