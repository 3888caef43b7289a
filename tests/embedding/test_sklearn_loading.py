"""Embedder in scikit-learn pipelines, and load() on directories that are not models."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bioLM.embedding import Embedder, embed, load
from bioLM.errors import ConfigError, ModelDirectoryError
from bioLM.synthetic import random_dna


def test_embedder_pipeline(model_dir, loaded, rng):
    model, tokenizer = loaded
    gc_rich = [random_dna(20, rng, gc=0.9) for _ in range(12)]
    at_rich = [random_dna(20, rng, gc=0.1) for _ in range(12)]
    sequences, labels = gc_rich + at_rich, [1] * 12 + [0] * 12
    pipeline = Pipeline([("embed", Embedder(model_dir, device="cpu")), ("clf", LogisticRegression(max_iter=500))])
    pipeline.fit(sequences, labels)
    assert pipeline.score(sequences, labels) > 0.8
    features = pipeline.named_steps["embed"].transform(np.asarray(sequences[:3]))
    np.testing.assert_allclose(features, embed(sequences[:3], model, tokenizer)[-1], atol=1e-5)
    assert clone(pipeline.named_steps["embed"]).get_params()["model_dir"] == model_dir
    assert len(pipeline.named_steps["embed"].get_feature_names_out()) == 32


def test_embedder_errors(model_dir):
    with pytest.raises(ConfigError, match="list of sequences"):
        Embedder(model_dir).fit("ACGT")
    with pytest.raises(ConfigError, match="one vector per sequence"):
        Embedder(model_dir, pooling="per-token").fit(["ACGT"])


def test_load_rejects_non_model_directories(tmp_path, model_dir):
    with pytest.raises(ModelDirectoryError, match="does not exist"):
        load(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelDirectoryError, match=r"no config\.json .*notes\.txt"):
        load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no_such_model"}))
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelDirectoryError, match="not a bioLM/Hugging Face model config"):
        load(tmp_path)
    only_model = tmp_path / "m"
    only_model.mkdir()
    (only_model / "config.json").write_text((model_dir / "config.json").read_text())
    with pytest.raises(ModelDirectoryError, match="no tokenizer"):
        load(only_model)
