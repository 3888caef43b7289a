"""benchmarks/heads_pooled.py: per-fold outcome files pooled over seed sets, each fold counted once, judged as
benchmarks/heads.py judges a setting."""

import json
import warnings

import pytest


def _fold(seed: int, head: float, f_classif: float, l1: float, baselines: bool = True) -> dict:
    row = {"seed": seed, "outer": {"l1@1": head, "anova@1": 0.0}, "choice_dual_default": "l1@1"}
    if baselines:
        row["baselines"] = {"f_classif": f_classif, "l1_logistic": l1}
    return row


def test_folds_pool_over_seed_sets_once_each_and_are_judged_against_the_best_baseline(benchmark_script, tmp_path):
    pooled = benchmark_script("heads_pooled")
    first = [_fold(30, 0.80, 0.70, 0.75), _fold(30, 0.82, 0.71, 0.74), _fold(6, 0.9, 0.1, 0.1, baselines=False)]
    second = [_fold(36, 0.78, 0.72, 0.77), _fold(36, 0.79, 0.70, 0.80)]
    (tmp_path / "a.json").write_text(json.dumps({"redundant": first}))
    (tmp_path / "b.json").write_text(json.dumps({"redundant": second}))
    (tmp_path / "again.json").write_text(json.dumps({"redundant": first[:1]}))  # the same fold twice
    folds = pooled.load([tmp_path / "a.json", tmp_path / "b.json", tmp_path / "again.json"], "choice_dual_default")
    assert sorted(folds["redundant"]) == [(30, 0), (30, 1), (36, 0), (36, 1)]  # no development fold, no repeat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pooled.judge([folds["redundant"][key] for key in sorted(folds["redundant"])])
    assert table["folds"] == 4 and table["best_baseline"] == "l1_logistic"
    assert table["paired_difference"]["mean"] == pytest.approx((0.05 + 0.08 + 0.01 - 0.01) / 4, abs=1e-4)
    assert table["at_least_best"] and not table["significantly_better"]


def test_a_fold_recorded_twice_with_different_scores_is_an_error(benchmark_script, tmp_path):
    pooled = benchmark_script("heads_pooled")
    (tmp_path / "a.json").write_text(json.dumps({"xor": [_fold(42, 0.9, 0.5, 0.5)]}))
    (tmp_path / "b.json").write_text(json.dumps({"xor": [_fold(42, 0.8, 0.5, 0.5)]}))
    with pytest.raises(pooled.BadFile, match="xor seed 42 fold 0 differs"):
        pooled.load([tmp_path / "a.json", tmp_path / "b.json"], "choice_dual_default")


def test_unreadable_or_foreign_files_stop_with_the_file_named(benchmark_script, tmp_path):
    pooled = benchmark_script("heads_pooled")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps({"xor": [{"no": "seed"}]}))
    (tmp_path / "dev.json").write_text(json.dumps({"xor": [_fold(6, 0.9, 0.5, 0.5, baselines=False)]}))
    for name in ("broken.json", "other.json", "missing.json"):
        with pytest.raises(pooled.BadFile, match=f"{name}: not a per-fold outcome file"):
            pooled.load([tmp_path / name], "choice_dual_default")
    with pytest.raises(pooled.BadFile, match="no fold with baselines"):
        pooled.load([tmp_path / "dev.json"], "choice_dual_default")


def test_the_command_exits_2_with_the_message_and_no_output(benchmark_script, tmp_path, monkeypatch, capsys):
    pooled = benchmark_script("heads_pooled")
    monkeypatch.setattr("sys.argv", ["heads_pooled.py", str(tmp_path / "missing.json")])
    with pytest.raises(SystemExit) as stop:
        pooled.main()
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "" and "missing.json: not a per-fold outcome file" in err
