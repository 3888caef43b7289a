from __future__ import annotations

import json

import numpy as np
import pytest

from bioLM.errors import AlphabetError, ConfigError, InputFormatError
from bioLM.finetuning.tasks import detect_format, load_task, stratified_split
from bioLM.synthetic import write_fasta_records


def write_gue(folder, rows_by_split):
    folder.mkdir()
    for name, rows in rows_by_split.items():
        (folder / f"{name}.csv").write_text("sequence,label\n" + "".join(f"{s},{y}\n" for s, y in rows))
    return folder


def test_gue_classification_and_regression(tmp_path):
    rows = {"train": [("acgt", 0), ("GGCC", 1), ("TTTT", 2)], "dev": [("ACGA", 1)], "test": [("CCCC", 0)]}
    task = load_task(write_gue(tmp_path / "clf", rows))
    assert task.kind == "classification" and task.num_labels == 3 and task.alphabet == "dna"
    assert task.splits["train"].sequences[0] == "ACGT" and task.splits["validation"].labels.tolist() == [1]
    assert task.splits["train"].labels.dtype == np.int64
    rows = {"train": [("ACGT", 0.5), ("GGCC", 1)], "dev": [("ACGA", 1.25)], "test": [("CCCC", -2)]}
    task = load_task(write_gue(tmp_path / "reg", rows))
    assert task.kind == "regression" and task.num_labels == 1
    assert task.splits["validation"].labels.tolist() == [1.25]


def test_gue_bad_rows(tmp_path):
    folder = write_gue(tmp_path / "bad", {"train": [("ACGT", "x")], "dev": [("A", 0)], "test": [("C", 1)]})
    with pytest.raises(InputFormatError, match=r"train.csv, line 2: label 'x' is not a number"):
        load_task(folder)
    (folder / "train.csv").write_text("sequence,label\nACJT,0\n")
    with pytest.raises(AlphabetError, match=r"train.csv.*line 2.*'J'"):
        load_task(folder)
    (folder / "train.csv").write_text("seq,y\nACGT,0\n")
    with pytest.raises(InputFormatError, match="header 'sequence,label'"):
        load_task(folder)


def test_fasta_per_class_seeded_stratified(tmp_path, rng):
    folder = tmp_path / "classes"
    folder.mkdir()
    write_fasta_records(folder / "neg.fa", [(f"n{i}", "ACGT" * 5) for i in range(50)])
    write_fasta_records(folder / "pos.fasta", [(f"p{i}", "GGCC" * 5) for i in range(10)])
    (folder / "pos.fasta").write_text((folder / "pos.fasta").read_text().replace(">p0", "> 6400"))  # no id
    task = load_task(folder, seed=3)
    assert task.label_names == ["neg", "pos"] and task.kind == "classification"
    sizes = {s: len(v) for s, v in task.splits.items()}
    assert sizes == {"train": 48, "validation": 6, "test": 6}
    assert [int(v.labels.sum()) for v in task.splits.values()] == [8, 1, 1]  # stratified
    again = load_task(folder, seed=3)
    assert again.splits["test"].sequences == task.splits["test"].sequences
    split = stratified_split(np.array([0] * 50 + [1] * 10), (0.8, 0.1, 0.1), seed=4)
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(60))
    with pytest.raises(ConfigError, match="summing to 1"):
        stratified_split(np.zeros(3), (0.5, 0.1, 0.1), 0)


def test_scl_format(tmp_path):
    folder = tmp_path / "scl"
    folder.mkdir()
    (folder / "data.csv").write_text("entry,seq,scl\nP1,MKV,0\nP2,MAAL,2\nP3,MW,1\nP4,MC,2\nP5,MKK,1\n")
    (folder / "splits.json").write_text(json.dumps({"trn": [0, 3, 4], "evl": [1], "tst": [2], "cv": {}}))
    (folder / "labels.json").write_text(json.dumps({"index_to_label": {"0": "Cyto", "1": "Nuc", "2": "Sec"}}))
    task = load_task(folder)
    assert detect_format(folder) == "scl" and task.alphabet == "protein"
    assert task.label_names == ["Cyto", "Nuc", "Sec"]
    assert task.splits["train"].sequences == ["MKV", "MC", "MKK"] and task.splits["test"].labels.tolist() == [1]
    (folder / "splits.json").write_text(json.dumps({"trn": [0, 9], "evl": [1], "tst": [2]}))
    with pytest.raises(InputFormatError, match="row index 9 but data.csv has 5 rows"):
        load_task(folder)
    (folder / "splits.json").write_text(json.dumps({"trn": [0, 3], "evl": [1], "tst": [2]}))
    with pytest.raises(InputFormatError, match=r"splits.json, record 'test #1': test label 'Nuc' never occurs"):
        load_task(folder)


def test_unknown_folder(tmp_path):
    with pytest.raises(ConfigError, match="cannot tell the task format"):
        load_task(tmp_path)


def test_real_task_folders(shared_data):
    tasks = shared_data / "tasks"
    gue = load_task(tasks / "dna" / "gue" / "prom" / "prom_core_tata")
    assert gue.kind == "classification" and gue.num_labels == 2 and len(gue.splits["validation"]) > 0
    promoters = load_task(tasks / "dna" / "promoters_ecoli")
    assert promoters.label_names == ["Ecoli_non_prom", "Ecoli_prom"]
    assert sum(len(s) for s in promoters.splits.values()) == 3839
    scl = load_task(tasks / "protein" / "scl2205")
    assert {s: len(v) for s, v in scl.splits.items()} == {"train": 15183, "validation": 1260, "test": 2631}
    assert scl.num_labels == 13 and scl.label_names[0] == "Cytoplasm"


def test_label_unseen_in_training_is_an_error(tmp_path):
    rows = {"train": [("ACGT", 0), ("GGCC", 1)], "dev": [("ACGA", 1)], "test": [("CCCC", 0), ("CCGA", 0), ("CCGG", 2)]}
    folder = write_gue(tmp_path / "unseen", rows)
    with pytest.raises(InputFormatError, match=r"test.csv, line 4: test label '2' never occurs in the training"):
        load_task(folder)
