"""benchmarks/heads.py: the reference rows (every feature, the planted features) are reported but never taken as
the best baseline the heads are judged against."""

import warnings

import numpy as np

from bioLM.summarize import planted


def test_planted_reference_takes_one_feature_per_group_and_only_at_k0(benchmark_script):
    heads = benchmark_script("heads")
    X, y, truth = planted.redundant(120, 30, 2, 3, seed=0)
    groups = heads._groups(truth)
    assert groups == truth and heads._groups([0, 1]) == [[0], [1]]
    train, test = np.arange(80), np.arange(80, 120)
    rows = heads._references(X[train], y[train], X[test], y[test], groups, 2, ("linear",))
    expected = heads._score(X[train][:, [0, 3]], y[train], X[test][:, [0, 3]], y[test])
    assert rows["planted"] == [expected]
    assert rows["all_features"] == [heads._score(X[train], y[train], X[test], y[test])]
    assert "planted" not in heads._references(X[train], y[train], X[test], y[test], groups, 3, ("linear",))
    assert "planted" not in heads._references(X[train], y[train], X[test], y[test], None, 2, ("linear",))


def test_reference_rows_are_never_the_best_baseline(benchmark_script):
    heads = benchmark_script("heads")
    pooled = {"k=2": {"f_classif": [0.6, 0.7, 0.65], "extractive": [0.7, 0.75, 0.7],
                      "all_features": [0.9, 0.9, 0.9], "planted": [0.95, 0.9, 0.92]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = heads._against_best(pooled, 2, 4)["k=2"]
    assert table["best_baseline"] == "f_classif"
    assert table["at_least_best"] and table["paired_difference"]["mean"] == 0.0667
    assert table["planted_minus_best"]["mean"] == 0.2733


def test_plot_has_one_panel_per_head_that_ran(benchmark_script, tmp_path):
    from PIL import Image  # matplotlib's own image dependency

    heads = benchmark_script("heads")

    def width(path: str) -> int:
        with Image.open(path) as image:
            return image.width

    selectors = {"k=2": {"f_classif": 0.6, "extractive": 0.7}, "k=4": {"f_classif": 0.65, "extractive": 0.7}}
    reducers = {"d=2": {"pca": 0.5, "abstractive": 0.6}}
    one = width(heads.plot("only", {"curves": selectors}, tmp_path))
    both = width(heads.plot("both", {"curves": {**selectors, **reducers}}, tmp_path))
    assert both == 2 * one
