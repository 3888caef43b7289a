"""run_benchmark end to end on data made in the test: results.json keys, report.md tables, plots."""

import json

import numpy as np
import pytest

from bioLM.benchmark.run import run_benchmark
from bioLM.benchmark.suite import Suite
from bioLM.cli import main
from bioLM.synthetic import random_dna, write_fasta_records


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, tiny_model, motif_task):
    data_dir = motif_task.parents[1]
    rng = np.random.default_rng(0)
    write_fasta_records(data_dir / "genome.fa", [("a", random_dna(700, rng)), ("b", random_dna(500, rng))])
    suite = Suite.from_dict({
        "name": "tiny", "model": {"path": str(tiny_model)},
        "tasks": [{"name": "motif", "path": "tasks/motif", "format": "fasta"},
                  {"name": "bits", "type": "compression", "files": ["genome.fa"]}],
        "evaluators": ["embedding-lr", "abstractive-lr"], "baselines": ["kmer-4", "cnn"], "seeds": [0, 1],
        "budget": {"epochs": 2, "batch_size": 32}, "bootstrap": 50, "threads": 1,
        "published": [{"task": "motif", "method": "Paper model", "metric": "MCC", "value": 0.9, "source": "x"}]})
    out = tmp_path_factory.mktemp("bench")
    return run_benchmark(suite, data_dir, out)


def test_results_json_has_every_section(outcome):
    results = json.loads((outcome.out_dir / "results.json").read_text())
    for key in ("suite", "model", "seeds", "versions", "hardware", "wall_s", "tasks", "published", "plots"):
        assert key in results, key
    motif = results["tasks"][0]
    assert motif["leakage"]["test_items"] == motif["sizes"]["test"] == 12
    assert [r["method"] for r in motif["rows"]] == ["embedding-lr", "abstractive-lr", "kmer-4", "cnn"]
    mcc = motif["rows"][2]["metrics"]["mcc"]
    assert len(mcc["seeds"]) == 2 and mcc["ci"][0] <= mcc["value"] <= mcc["ci"][1]
    pairs = [(c["evaluator"], c["baseline"]) for c in motif["comparisons"]]
    assert pairs == [("embedding-lr", "kmer-4"), ("embedding-lr", "cnn"), ("abstractive-lr", "kmer-4"),
                     ("abstractive-lr", "cnn")]
    first = motif["comparisons"][0]
    assert first["difference"] == pytest.approx(motif["rows"][0]["metrics"]["mcc"]["value"] - mcc["value"])
    saved = np.load(outcome.out_dir / "predictions" / "motif.npz")
    assert saved["kmer-4"].shape == (2, 12, 2) and list(saved["seeds"]) == [0, 1] and len(saved["y"]) == 12
    bits = results["tasks"][1]["files"][0]
    assert bits["letters"] == 1200 and bits["unit"] == "base"
    assert 1.5 < bits["model"]["value"] < 3.5 and {"gzip-9", "bzip2-9", "xz-9e"} <= set(bits["classic"])


def test_report_and_plots_written(outcome):
    report = (outcome.out_dir / "report.md").read_text()
    assert "| kmer-4 | baseline |" in report and "embedding-lr" in report
    assert "| embedding-lr | kmer-4 |" in report and "paired bootstrap" in report
    assert "Published, different compute" in report
    measured, published = report.split("## Published, different compute")
    assert "Paper model" not in measured and "Paper model" in published
    for name in ("motif_metrics.png", "motif_roc.png", "bits_bits.png"):
        path = outcome.out_dir / "plots" / name
        assert path.is_file() and path.stat().st_size > 1000, name


def test_cli_reports_a_bad_suite_without_traceback(tmp_path, capsys):
    suite = tmp_path / "bad.yaml"
    suite.write_text("model: {path: m}\nevaluators: [nope]\n")
    assert main(["benchmark", str(suite), "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "unknown evaluator 'nope'" in capsys.readouterr().err


def test_finetune_evaluator_returns_test_probabilities(tiny_model, motif_task):
    from bioLM.benchmark.evaluators import finetune_probabilities
    from bioLM.benchmark.suite import Budget, Suite
    from bioLM.finetuning.tasks import prepare_task

    task = prepare_task(motif_task, "fasta", 0, None, None)
    suite = Suite(budget=Budget(epochs=1, batch_size=32), device="cpu")
    proba, details = finetune_probabilities(tiny_model, task, suite, seed=0)
    assert proba.shape == (len(task.splits["test"]), 2)
    assert abs(float(proba.sum(1).mean()) - 1) < 1e-5
    assert details["epochs"] >= 1 and details["best_epoch"] == 0 and "mcc" in details["validation"]


def test_mutations_task_spearman(tmp_path):
    import numpy as np
    import torch

    from bioLM.benchmark.run import ModelUnderTest, mutations_task
    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    tokenizer = build_tokenizer("char", alphabet="protein")
    torch.manual_seed(0)
    BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=64, n_embd=32)).save_pretrained(
        tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    wild = "MKTAYIAKQRQISFVKSHFSRQ"
    write_fasta_records(tmp_path / "wt.fa", [("wt", wild)])
    rows = [f"{wild[i]}{i + 1}{aa}" for i in range(0, 20, 2) for aa in "AG" if wild[i] != aa]
    fitness = np.random.default_rng(0).normal(size=len(rows))
    (tmp_path / "dms.csv").write_text("mutant,fit\n" + "".join(f"{m},{f}\n" for m, f in zip(rows, fitness)))
    suite = Suite.from_dict({"model": {"path": str(tmp_path / "model")}, "bootstrap": 50, "evaluators": [],
                             "tasks": [{"name": "dms", "type": "mutations", "path": "dms.csv",
                                        "wild_type": "wt.fa", "fitness_column": "fit"}]})
    result = mutations_task(suite, suite.tasks[0], tmp_path, ModelUnderTest(tmp_path / "model"), tmp_path)
    spearman = result["rows"][0]["metrics"]["spearman"]
    assert result["sizes"]["variants"] == len(rows)
    assert -1 <= spearman["ci"][0] <= spearman["value"] <= spearman["ci"][1] <= 1
    assert (tmp_path / "dms.scores.csv").is_file()


def test_probe_layers_concatenates_mean_pooled_layers(tiny_model, planted):
    """Also: sequences longer than the model's context (64) are embedded in overlapping windows, not refused."""
    from bioLM.benchmark.evaluators import TaskEmbeddings
    from bioLM.embedding import embed, load

    model, tokenizer = load(tiny_model)
    sequences, _ = planted(12, length=150)
    train, test = sequences[:8], sequences[8:]
    last = TaskEmbeddings(model, tokenizer, train, test).get("mean")
    every = TaskEmbeddings(model, tokenizer, train, test, probe_layers="all").get("mean")
    n_states = model.config.num_hidden_layers + 1
    width = last[0].shape[1]
    assert every[0].shape == (8, n_states * width) and every[1].shape == (4, n_states * width)
    np.testing.assert_allclose(every[0][:, -width:], last[0], rtol=1e-5, atol=1e-6)  # last block comes last
    first = embed(train, model, tokenizer, [0], "mean", window_overlap=16)[0]
    np.testing.assert_allclose(every[0][:, :width], first, rtol=1e-5, atol=1e-6)
    per_token = TaskEmbeddings(model, tokenizer, train, test, probe_layers="all").get("per-token")
    assert per_token[0][0].shape[1] == width  # the summarizer heads keep the last layer
