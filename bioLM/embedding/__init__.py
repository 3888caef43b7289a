"""Embeddings from bioLM models: ``load``, ``embed``, the ``Embedder`` transformer, inputs and output writers.

    model, tokenizer = load("runs/x/export")
    vectors = embed(["ACGT...", ...], model, tokenizer, layers=[-1], pooling="mean")[-1]  # (N, H)
"""

from bioLM.embedding.embed import EmbedOptions, embed, resolve_layers
from bioLM.embedding.inputs import (
    InputRecord,
    VariantStats,
    fastx_records,
    region_records,
    variant_records,
)
from bioLM.embedding.job import EmbedJob, EmbedSummary, embed_records, embed_to_file
from bioLM.embedding.pooling import POOLINGS
from bioLM.embedding.sklearn import Embedder
from bioLM.embedding.writers import EmbeddingTable, ShardedWriter, read_npz, read_parquet, write_table
from bioLM.model.loading import load, model_context

__all__ = [
    "POOLINGS", "EmbedJob", "EmbedOptions", "EmbedSummary", "Embedder", "EmbeddingTable", "InputRecord",
    "ShardedWriter", "VariantStats", "embed", "embed_records", "embed_to_file", "fastx_records", "load",
    "model_context", "read_npz", "read_parquet", "region_records", "resolve_layers", "variant_records",
    "write_table",
]
