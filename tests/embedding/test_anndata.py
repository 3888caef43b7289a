"""AnnData conventions of `.h5ad` outputs: X_biolm in obsm, float32, provenance in uns, typed region columns,
and scanpy's neighbors graph on use_rep="X_biolm"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bioLM.cli import main
from bioLM.embedding import EmbeddingTable, read_npz, write_table
from bioLM.io.fingerprint import content_fingerprint
from bioLM.synthetic import random_dna, write_fasta_records

anndata = pytest.importorskip("anndata")


def test_one_layer_is_x_biolm_float32_and_columns_keep_their_types(tmp_path, rng) -> None:
    table = EmbeddingTable(["r1", "r2", "r3"], {"layer_-1": rng.normal(size=(3, 4))},  # float64 in
                           {"start": [0, 10, 20], "score": [None, 2.5, None], "strand": ["+", "-", "+"],
                            "name": ["a", "b", ""]})
    write_table(tmp_path / "e.h5ad", table, provenance={"pooling": "mean", "layers": [-1], "variant_window": None})
    adata = anndata.read_h5ad(tmp_path / "e.h5ad")
    assert list(adata.obsm) == ["X_biolm"] and adata.obsm["X_biolm"].dtype == np.float32
    assert adata.obs["score"].dtype == np.float64 and np.isnan(adata.obs["score"].iloc[0])
    assert adata.obs["score"].iloc[1] == 2.5 and adata.obs["start"].dtype.kind == "i"
    uns = adata.uns["biolm"]
    assert uns["pooling"] == "mean" and list(uns["layers"]) == [-1] and uns["variant_window"] == ""
    assert json.loads(uns["provenance_json"])["variant_window"] is None


def test_per_base_npz_is_float32(tmp_path) -> None:
    rows = [np.ones((3, 2), dtype=np.float64), np.zeros((1, 2), dtype=np.float64)]
    write_table(tmp_path / "b.npz", EmbeddingTable(["a", "b"], {"layer_-1": rows}))
    assert all(a.dtype == np.float32 for a in read_npz(tmp_path / "b.npz").arrays["layer_-1"])


def test_cli_h5ad_has_provenance_and_scanpy_runs_on_it(tmp_path, model_dir, rng) -> None:
    records = [(f"s{i}", random_dna(int(rng.integers(10, 40)), rng)) for i in range(12)]
    fasta = write_fasta_records(tmp_path / "in.fa", records)
    out = tmp_path / "e.h5ad"
    assert main(["embed", "--model", str(model_dir), str(fasta), "--out", str(out), "--window-overlap", "4"]) == 0
    adata = anndata.read_h5ad(out)
    assert adata.obsm["X_biolm"].shape == (12, 32) and adata.obsm["X_biolm"].dtype == np.float32
    uns = adata.uns["biolm"]
    assert uns["model"] == str(model_dir.resolve()) and uns["model_fingerprint"] == content_fingerprint(model_dir)[2]
    assert uns["pooling"] == "mean" and uns["options"]["window_overlap"] == 4 and uns["bioLM_version"]
    sc = pytest.importorskip("scanpy")
    sc.pp.neighbors(adata, use_rep="X_biolm", n_neighbors=5)
    assert adata.obsp["connectivities"].shape == (12, 12)
