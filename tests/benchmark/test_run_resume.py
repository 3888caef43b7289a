"""A benchmark run stopped and run again with the same --out reuses what it finished: every task whose
settings, spec and model are unchanged, and an exported pretraining of the same recipe."""

import json
import shutil

import pytest

from bioLM.benchmark import run as run_module
from bioLM.benchmark.run import prepare_model, run_benchmark
from bioLM.benchmark.suite import Suite
from bioLM.errors import ConfigError

RECIPE = """data: {inputs: [], tokenizer: char, alphabet: dna, micro_batch_size: 4}
model: {preset: tiny, context_length: 32}
trainer: {max_steps: 5, accelerator: cpu, precision: fp32}
"""


def _suite(tiny_model, **changes) -> Suite:
    data = {"name": "resume", "model": {"path": str(tiny_model)},
            "tasks": [{"name": "motif", "path": "tasks/motif", "format": "fasta"}],
            "evaluators": ["embedding-lr"], "baselines": ["kmer-4"], "seeds": [0], "bootstrap": 20, "threads": 1}
    return Suite.from_dict({**data, **changes})


def _refuse(*args, **kwargs):
    raise AssertionError("the task ran again")


def test_finished_task_is_read_back_unless_settings_change(tmp_path, tiny_model, motif_task, monkeypatch):
    data_dir, out = motif_task.parents[1], tmp_path / "bench"
    first = run_benchmark(_suite(tiny_model), data_dir, out)
    saved = json.loads((out / "tasks" / "motif.json").read_text())
    assert saved["result"]["name"] == "motif" and len(saved["key"]) == 64

    monkeypatch.setattr(run_module, "classification_task", _refuse)
    again = run_benchmark(_suite(tiny_model, threads=2), data_dir, out)  # threads do not change results
    assert again.results["tasks"] == json.loads(json.dumps(first.results["tasks"]))
    assert (out / "report.md").is_file() and again.predictions["motif"]["y"].tolist() == \
        first.predictions["motif"]["y"].tolist()
    with pytest.raises(AssertionError, match="ran again"):  # another baseline: the task is not reused
        run_benchmark(_suite(tiny_model, baselines=["kmer-6"]), data_dir, out)
    (out / "tasks" / "motif.json").write_text("{not json")  # damaged: run again, no traceback from the reader
    with pytest.raises(AssertionError, match="ran again"):
        run_benchmark(_suite(tiny_model), data_dir, out)


def test_exported_pretraining_is_reused_only_for_the_same_recipe(tmp_path, tiny_model, monkeypatch):
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    (tmp_path / "dna.fa").write_text(">a\nACGTACGTAC\n")
    suite = Suite.from_dict({"name": "p", "model": {"recipe": str(tmp_path / "recipe.yaml"), "inputs": ["dna.fa"]},
                             "tasks": [{"name": "x", "type": "compression", "files": ["dna.fa"]}]})
    out = tmp_path / "bench"
    trained = []
    monkeypatch.setattr("bioLM.training.pretraining.pretrain",
                        lambda recipe: trained.append(recipe) or shutil.copytree(tiny_model, out / "pretrain" / "model", dirs_exist_ok=True))
    first = prepare_model(suite, tmp_path, out)
    assert len(trained) == 1 and trained[0].resume  # a stopped pretraining continues from last.ckpt
    assert (out / "pretrain" / "pretraining.json").is_file()
    second = prepare_model(suite, tmp_path, out)
    assert len(trained) == 1 and second.path == out / "pretrain" / "model"
    assert second.pretraining["recipe"] == json.loads(json.dumps(first.pretraining["recipe"]))
    changed = Suite.from_dict({**suite.to_dict(), "model": {**suite.to_dict()["model"],
                                                            "overrides": ["trainer.max_steps=6"]}})
    with pytest.raises(ConfigError, match="different recipe"):
        prepare_model(changed, tmp_path, out)
    (out / "pretrain" / "pretraining.json").write_text("{damaged")  # no traceback: pretraining resumes
    prepare_model(suite, tmp_path, out)
    assert len(trained) == 2 and "recipe" in json.loads((out / "pretrain" / "pretraining.json").read_text())
