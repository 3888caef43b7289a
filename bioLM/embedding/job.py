"""``embed_to_file``: the whole ``biolm embed`` run (inputs -> embeddings -> sharded, resumable output)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal

from tqdm.auto import tqdm

from bioLM.embedding.embed import EmbedOptions, LayerSpec, embed, is_causal_model
from bioLM.embedding.inputs import (
    InputRecord,
    VariantStats,
    fastx_records,
    feature_records,
    region_records,
    variant_records,
)
from bioLM.embedding.writers import EmbeddingTable, ShardedWriter, output_format
from bioLM.errors import ConfigError
from bioLM.io.features import is_flat_file
from bioLM.io.fingerprint import content_fingerprint
from bioLM.model.loading import load, model_context, special_tokens

logger = logging.getLogger(__name__)


@dataclass
class EmbedJob:
    """One embedding run: the model, one input (FASTA, or reference + regions, or reference + VCF), the output."""

    model: str | Path
    """Exported model directory."""
    out: str | Path
    """Output file; its extension picks the format unless ``fmt`` is given."""
    fasta: str | Path | None = None
    """FASTA/FASTQ of sequences to embed."""
    reference: str | Path | None = None
    """Indexed reference FASTA for ``regions`` or ``vcf``."""
    regions: str | Path | None = None
    """BED or GFF3 regions on ``reference``, or a GenBank/EMBL file (its features, on its own sequence)."""
    vcf: str | Path | None = None
    """VCF/BCF of variants on ``reference``; ref and alt windows are embedded side by side."""
    layers: LayerSpec = (-1,)
    """Layer indices (negative allowed) or 'all'."""
    pooling: str = "mean"
    """mean, max, last, first (bos), per-token or per-base (the last two: .npz only)."""
    fmt: Literal["npy", "npz", "parquet", "h5ad"] | None = None
    """npy, npz, parquet or h5ad (default: from the extension of ``out``)."""
    resume: bool = False
    """Keep the finished shards of an interrupted run with the same settings."""
    shard_size: int = 10_000
    """Input records per shard."""
    variant_window: int | None = None
    """Bases per variant window (default: the model's context minus <bos>)."""
    skip_ref_mismatch: bool = False
    """Skip (and count) variants whose REF disagrees with the reference instead of failing."""
    contig_map: str | Path | None = None
    """File of 'vcf_name reference_name' pairs, for VCFs that name contigs differently (1 vs chr1)."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N (the precision is ``options.precision``)."""
    feature_types: list[str] | None = None
    """GFF3 / GenBank / EMBL feature types to keep, e.g. CDS gene rRNA (default: all; GenBank/EMBL: all but source)."""
    keep_shards: bool = False
    """Leave the shard directory in place after merging."""
    options: EmbedOptions = field(default_factory=EmbedOptions)


@dataclass
class EmbedSummary:
    """What a run wrote: output files, rows, shards reused from a previous run, skipped variants."""

    paths: list[Path]
    rows: int
    shards: int
    shards_resumed: int
    variants: VariantStats | None = None


def _records(job: EmbedJob, context: int, stats: VariantStats) -> Iterator[InputRecord]:
    given = [name for name in ("fasta", "regions", "vcf") if getattr(job, name) is not None]
    if len(given) != 1:
        raise ConfigError(f"give exactly one input: a FASTA, --regions or --vcf (got {given or 'none'})")
    if job.fasta is not None:
        return fastx_records(job.fasta)

    if job.regions is not None and is_flat_file(job.regions):
        return feature_records(job.regions, job.feature_types)
    if job.reference is None:
        raise ConfigError(f"--{given[0]} needs --reference ref.fa (an indexed FASTA of the same assembly)")
    if job.regions is not None:
        return region_records(job.reference, job.regions, job.feature_types)
    window = job.variant_window or context
    return variant_records(job.reference, job.vcf, window, job.skip_ref_mismatch, stats, job.contig_map)


def embed_records(records: list[InputRecord], model, tokenizer, layers: LayerSpec, pooling: str,
                  options: EmbedOptions) -> EmbeddingTable:
    """Embed the named sequences of ``records`` in one call; arrays ``layer_<key>[_<name>]``."""
    names = list(records[0].sequences) if records else []
    sequences = [r.sequences[n] for n in names for r in records]
    ids = [f"{r.id} {n}".strip() for n in names for r in records]
    result = embed(sequences, model, tokenizer, layers, pooling, ids=ids, options=options)
    arrays: dict = {}
    for key, values in result.items():
        for k, name in enumerate(names):
            part = values[k * len(records):(k + 1) * len(records)]
            arrays[f"layer_{key}" + (f"_{name}" if name else "")] = part
    columns = list(records[0].metadata) if records else []
    metadata = {c: [r.metadata.get(c) for r in records] for c in columns}
    return EmbeddingTable([r.id for r in records], arrays, metadata)


def _chunks(records: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _settings(job: EmbedJob) -> dict:
    """What a resumed run must share with the run that wrote the shards: the model and the inputs by content
    (sha256 of every file), and every option that changes the numbers."""
    inputs = [Path(x) for x in (job.fasta, job.reference, job.regions, job.vcf) if x is not None]
    layers = job.layers if isinstance(job.layers, str) else list(job.layers)
    options = {k: v for k, v in asdict(job.options).items()
               if k not in ("progress", "max_tokens", "max_batch_size", "max_padding", "sort")}
    return {"model": content_fingerprint(Path(job.model)),
            "inputs": [content_fingerprint(p) for p in inputs],
            "layers": layers, "pooling": job.pooling, "shard_size": job.shard_size,
            "variant_window": job.variant_window, "skip_ref_mismatch": job.skip_ref_mismatch,
            "contig_map": str(job.contig_map) if job.contig_map else None, "options": options}


def _sequence_tokens(model, tokenizer, options: EmbedOptions) -> int:
    """Tokens of a sequence that fit one forward pass (the context minus the model's special tokens)."""
    context = model_context(model, tokenizer)
    if context is None:
        raise ConfigError("cannot tell the model's context length from its config; give --variant-window")
    kind = "causal" if is_causal_model(model) else "masked"
    prefix, suffix = special_tokens(tokenizer, kind) if options.add_bos else ((), ())
    return context - len(prefix) - len(suffix)


def embed_to_file(job: EmbedJob, model=None, tokenizer=None) -> EmbedSummary:
    """Run ``job``: read the input, embed it shard by shard (skipping finished shards with ``resume``), and
    write the output atomically. ``model``/``tokenizer`` default to ``load(job.model)``."""
    if job.shard_size < 1:
        raise ConfigError(f"shard_size={job.shard_size} must be at least 1")
    if job.pooling in ("per-token", "per-base") and output_format(job.out, job.fmt) != "npz":
        raise ConfigError(f"pooling {job.pooling!r} gives one row per token/base, which only an .npz output "
                          "holds; write to an .npz file (--format npz) or choose a pooling such as mean")
    if model is None or tokenizer is None:
        model, tokenizer = load(job.model, device=job.device, precision=job.options.precision)
    writer = ShardedWriter(job.out, job.fmt, job.resume, _settings(job))
    stats = VariantStats()
    records = _records(job, _sequence_tokens(model, tokenizer, job.options), stats)
    n_shards = resumed = rows = 0
    for index, chunk in enumerate(tqdm(_chunks(records, job.shard_size), desc="shards", unit="shard",
                                       disable=not job.options.progress)):
        n_shards, rows = index + 1, rows + len(chunk)
        if job.resume and writer.is_done(index):
            resumed += 1
            continue
        table = embed_records(chunk, model, tokenizer, job.layers, job.pooling, job.options)
        writer.write_shard(index, table)
    if n_shards == 0:
        raise ConfigError("the input holds no sequences to embed")
    if resumed:
        logger.info("resumed: %d of %d shards were already done", resumed, n_shards)
    paths = writer.finalize(n_shards, job.keep_shards)
    return EmbedSummary(paths, rows, n_shards, resumed, stats if job.vcf is not None else None)
