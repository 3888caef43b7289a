"""Embedding outputs: ``.npy`` + ids ``.tsv``, ``.npz``, Parquet and AnnData ``.h5ad``; sharded, atomic, resumable.

An output is an :class:`EmbeddingTable`: one row per input (``ids`` plus metadata columns) and named arrays
(``layer_-1``, or ``layer_-1_ref`` / ``layer_-1_alt`` for VCF variants) of shape ``(N, H)``. Per-token and
per-base outputs are ragged (a list of ``(T_i, H)`` arrays); only ``.npz`` holds them, as the rows
concatenated (``name``, ``(sum T_i, H)``) plus ``name__lengths`` ``(N,)``.

Files per format, for ``--out emb.<ext>``:

* ``npy``: ``emb.npy`` ``(N, H)`` when there is one array, else one ``emb.<name>.npy`` per array; and
  ``emb.ids.tsv`` (``id`` and the metadata columns, in row order);
* ``npz``: one archive with ``ids``, ``meta:<column>`` and the arrays;
* ``parquet``: columns ``id``, the metadata, and one fixed-size list column per array;
* ``h5ad``: AnnData conventions (scanpy's ``use_rep="X_biolm"`` works on it): ``obs`` = ids (index) +
  metadata with their own dtypes (a GFF3/BED score is a float column, NaN when absent); embeddings in
  ``obsm["X_biolm"]`` for one layer, ``obsm["X_biolm_layer<N>"]`` per layer for several (``N`` as requested,
  e.g. ``-1``); VCF variants add ``_ref`` / ``_alt`` and the difference ``alt - ref`` under the plain key;
  ``X`` is empty; ``uns["biolm"]`` holds the provenance (model path and fingerprint, layers, pooling, window
  settings, bioLM version, and which ``obsm`` key holds which array).

Embeddings are float32 in every format (window averaging may compute in float64; it is stored as float32).

Every file is written to a temporary name and renamed into place, so a reader never sees half a file.
:class:`ShardedWriter` writes each shard of rows (``<out>.shards/shard-00000.npz``) the same way; with
``resume`` a shard that is already there is not recomputed, and :meth:`ShardedWriter.finalize` merges them.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from bioLM import __version__
from bioLM.errors import ConfigError
from bioLM.io.atomic import atomic_write

logger = logging.getLogger(__name__)

OutputFormat = Literal["npy", "npz", "parquet", "h5ad"]
FORMATS: tuple[str, ...] = get_args(OutputFormat)
_EXTENSIONS = {".npy": "npy", ".tsv": "npy", ".npz": "npz", ".parquet": "parquet", ".pq": "parquet",
               ".h5ad": "h5ad"}


@dataclass
class EmbeddingTable:
    """Rows of an embedding output: ``ids`` ``(N,)``, metadata columns of length N, and named arrays."""

    ids: list[str]
    arrays: dict[str, np.ndarray | list[np.ndarray]]
    metadata: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def output_format(path: str | Path, fmt: str | None = None) -> str:
    """The format asked by ``fmt``, else the one implied by the extension of ``path``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"--format {fmt!r} is not valid; choose one of {list(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ConfigError(f"cannot tell the output format of {str(path)!r} from its extension {suffix!r}; use "
                          f"one of {sorted(_EXTENSIONS)} or pass --format {{{','.join(FORMATS)}}}")
    return _EXTENSIONS[suffix]


def _is_ragged(values) -> bool:
    return isinstance(values, list)


def _column(values: list) -> np.ndarray:
    """A metadata column as a typed array: numbers (None -> NaN, as float) or strings (None -> "")."""
    present = [v for v in values if v is not None]
    numeric = present and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present)
    if numeric and (len(present) < len(values) or any(isinstance(v, (float, np.floating)) for v in present)):
        return np.asarray([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    if not present and values:  # e.g. a score column that no record fills
        return np.full(len(values), math.nan)
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind not in "biufU":
        array = np.asarray(["" if v is None else str(v) for v in values])
    return array


def _float32(values) -> np.ndarray:
    """Embeddings are stored as float32 (float64 from window averaging is cast)."""
    array = np.asarray(values)
    return array.astype(np.float32, copy=False) if array.dtype.kind == "f" else array


def _npz_dict(table: EmbeddingTable) -> dict[str, np.ndarray]:
    data = {"ids": np.asarray(table.ids, dtype=str)}
    for name, values in table.metadata.items():
        data[f"meta:{name}"] = _column(values)
    for name, values in table.arrays.items():
        if _is_ragged(values):
            data[name] = _float32(np.concatenate(values)) if values else np.zeros((0, 0), np.float32)
            data[f"{name}__lengths"] = np.asarray([len(v) for v in values], dtype=np.int64)
        else:
            data[name] = _float32(values)
    return data


def _save_npz(path: Path, table: EmbeddingTable) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **_npz_dict(table))


def read_npz(path: str | Path) -> EmbeddingTable:
    """Read an ``.npz`` written by bioLM back into an :class:`EmbeddingTable` (ragged arrays split again)."""
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        ids = [str(x) for x in data["ids"]]
        metadata = {k[5:]: data[k].tolist() for k in keys if k.startswith("meta:")}
        arrays: dict = {}
        for key in keys:
            if key == "ids" or key.startswith("meta:") or key.endswith("__lengths"):
                continue
            if f"{key}__lengths" in keys:
                bounds = np.cumsum(data[f"{key}__lengths"])[:-1]
                arrays[key] = list(np.split(data[key], bounds))
            else:
                arrays[key] = data[key]
    return EmbeddingTable(ids, arrays, metadata)


def _tsv_value(value) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\n", " ")


def _write_npy(path: Path, table: EmbeddingTable) -> list[Path]:
    stem = path.with_suffix("") if path.suffix.lower() in (".npy", ".tsv") else path
    written = []
    for name, values in table.arrays.items():
        target = Path(f"{stem}.npy") if len(table.arrays) == 1 else Path(f"{stem}.{name}.npy")

        def save(tmp: Path, values=values) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, _float32(values))
        written.append(atomic_write(target, save))
    columns = ["id", *table.metadata]
    lines = ["\t".join(columns)]
    for row, identifier in enumerate(table.ids):
        lines.append("\t".join([_tsv_value(identifier)] + [_tsv_value(v[row]) for v in table.metadata.values()]))
    written.append(atomic_write(Path(f"{stem}.ids.tsv"), lambda tmp: tmp.write_text("\n".join(lines) + "\n")))
    return written


def _write_parquet(path: Path, table: EmbeddingTable) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"id": pa.array(table.ids, type=pa.string())}
    for name, values in table.metadata.items():
        columns[name] = pa.array(_column(values).tolist())
    for name, values in table.arrays.items():
        array = np.ascontiguousarray(values, dtype=np.float32)
        columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1)), array.shape[1])
    atomic_write(path, lambda tmp: pq.write_table(pa.table(columns), tmp))


def read_parquet(path: str | Path) -> EmbeddingTable:
    """Read a Parquet output of bioLM back (array columns are the fixed-size list columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = pq.read_table(path)
    ids = [str(x) for x in data.column("id").to_pylist()]
    arrays, metadata = {}, {}
    for name in data.column_names[1:]:
        column = data.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(column.type):
            arrays[name] = column.values.to_numpy().reshape(len(column), column.type.list_size)
        else:
            metadata[name] = column.to_pylist()
    return EmbeddingTable(ids, arrays, metadata)


_ARRAY_NAME = re.compile(r"^layer_(-?\d+)(?:_(ref|alt))?$")


def anndata_keys(names: list[str]) -> dict[str, str]:
    """``obsm`` key of each array name: ``layer_-1`` -> ``X_biolm`` (one layer) or ``X_biolm_layer-1``
    (several); ``layer_-1_ref`` -> ``X_biolm_ref``; other names -> ``X_<name>``."""
    parsed = {name: _ARRAY_NAME.match(name) for name in names}
    layers = {m.group(1) for m in parsed.values() if m}
    keys = {}
    for name, match in parsed.items():
        if match is None:
            keys[name] = f"X_{name}"
            continue
        base = "X_biolm" if len(layers) == 1 else f"X_biolm_layer{match.group(1)}"
        keys[name] = base + (f"_{match.group(2)}" if match.group(2) else "")
    return keys


def _obsm(table: EmbeddingTable) -> dict[str, np.ndarray]:
    keys = anndata_keys(list(table.arrays))
    obsm = {keys[name]: np.ascontiguousarray(values, dtype=np.float32) for name, values in table.arrays.items()}
    for key in [k for k in obsm if k.endswith("_alt") and k[:-4] + "_ref" in obsm and k[:-4] not in obsm]:
        obsm[key[:-4]] = obsm[key] - obsm[key[:-4] + "_ref"]  # the variant's effect in embedding space
    return obsm


def _uns_value(value):
    """A JSON-like value that h5py can store: None -> "", mixed lists -> strings."""
    if isinstance(value, dict):
        return {str(k): _uns_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_uns_value(v) for v in value]
        kinds = {type(v) for v in items}
        if any(isinstance(v, (dict, list)) for v in items) or len(kinds) > 1:
            return json.dumps(value, default=str)
        return items
    return "" if value is None else value


def _write_h5ad(path: Path, table: EmbeddingTable, provenance: dict | None) -> None:
    import anndata
    import pandas as pd

    obs = pd.DataFrame({name: _column(values) for name, values in table.metadata.items()},
                       index=pd.Index(table.ids, name="id", dtype=str))
    obsm = _obsm(table)
    uns = {"biolm": _uns_value({**(provenance or {}), "obsm_keys": anndata_keys(list(table.arrays)),
                                "provenance_json": json.dumps(provenance or {}, default=str)})}
    adata = anndata.AnnData(obs=obs, obsm=obsm, uns=uns)
    atomic_write(path, lambda tmp: adata.write_h5ad(tmp))


def write_table(path: str | Path, table: EmbeddingTable, fmt: str | None = None,
                provenance: dict | None = None) -> list[Path]:
    """Write ``table`` to ``path`` in ``fmt`` (default: from the extension), atomically; returns the files.
    ``provenance`` (how the embeddings were made) goes into ``uns["biolm"]`` of an ``.h5ad``."""
    path = Path(path)
    fmt = output_format(path, fmt)
    ragged = [name for name, values in table.arrays.items() if _is_ragged(values)]
    if ragged and fmt != "npz":
        raise ConfigError(f"per-token/per-base embeddings ({ragged}) have one row per token, not per sequence; "
                          "write them to an .npz output (--format npz) or choose a pooling such as mean")
    if fmt == "npy":
        return _write_npy(path, table)
    if fmt == "npz":
        atomic_write(path, lambda tmp: _save_npz(tmp, table))
    elif fmt == "parquet":
        _write_parquet(path, table)
    else:
        _write_h5ad(path, table, provenance)
    return [path]


def concat_tables(tables: list[EmbeddingTable]) -> EmbeddingTable:
    """Rows of ``tables`` one after the other (same arrays and metadata columns in each)."""
    first = tables[0]
    arrays: dict = {}
    for name, values in first.arrays.items():
        parts = [t.arrays[name] for t in tables]
        arrays[name] = [row for part in parts for row in part] if _is_ragged(values) else np.concatenate(parts)
    metadata = {name: [v for t in tables for v in t.metadata[name]] for name in first.metadata}
    return EmbeddingTable([i for t in tables for i in t.ids], arrays, metadata)


class ShardedWriter:
    """Writes an output in shards of rows under ``<out>.shards/`` and merges them at the end.

    ``settings`` (model and input fingerprints, layers, pooling, shard size, ...) are stored with the first
    shard; resuming with different settings is an error rather than a silent mix of two runs. The directory
    and its ``settings.json`` appear only with that first shard (and go again if writing it fails), so a run
    that fails before any shard leaves nothing behind.
    """

    def __init__(self, out: str | Path, fmt: str | None = None, resume: bool = False,
                 settings: dict | None = None) -> None:
        self.out = Path(out)
        self.fmt = output_format(self.out, fmt)
        self.directory = self.out.parent / f"{self.out.name}.shards"
        self.settings = json.loads(json.dumps(settings or {}))
        self._settings_path = self.directory / "settings.json"
        if resume and self._settings_path.exists():
            previous = json.loads(self._settings_path.read_text())
            if previous != self.settings:
                changed = sorted(k for k in set(previous) | set(self.settings) if previous.get(k) != self.settings.get(k))
                raise ConfigError(f"--resume: the shards in {str(self.directory)!r} were made with other settings "
                                  f"(changed since: {', '.join(changed)}; model and inputs are compared by content "
                                  "hash); rerun without --resume to embed everything again")
        elif self.directory.exists():
            if not resume:
                logger.info("removing the shards of a previous run in %s (use --resume to keep them)", self.directory)
            shutil.rmtree(self.directory)

    def abandon(self) -> None:
        """Remove the shard directory when it holds no finished shard (nothing to resume)."""
        if self.directory.is_dir() and not any(self.directory.glob("shard-*.npz")):
            shutil.rmtree(self.directory, ignore_errors=True)

    def provenance(self) -> dict:
        """The run's settings plus the bioLM version and the model fingerprint (for ``uns`` of an .h5ad)."""
        model_path, _, fingerprint = self.settings.get("model") or (None, None, None)
        return {**self.settings, "model": model_path, "bioLM_version": __version__, "model_fingerprint": fingerprint}

    def shard_path(self, index: int) -> Path:
        return self.directory / f"shard-{index:05d}.npz"

    def is_done(self, index: int) -> bool:
        """True when shard ``index`` was written completely (by this run or one that is resumed)."""
        return self.shard_path(index).exists()

    def write_shard(self, index: int, table: EmbeddingTable) -> None:
        """Write shard ``index`` atomically; the settings follow the first shard (a shard without settings is
        not resumed: the next run starts over)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write(self.shard_path(index), lambda tmp: _save_npz(tmp, table))
        except BaseException:
            self.abandon()
            raise
        if not self._settings_path.exists():
            atomic_write(self._settings_path, lambda tmp: tmp.write_text(json.dumps(self.settings, indent=1)))

    def finalize(self, n_shards: int, keep_shards: bool = False) -> list[Path]:
        """Merge shards ``0..n_shards-1`` into the output file(s); removes the shards unless ``keep_shards``."""
        missing = [i for i in range(n_shards) if not self.is_done(i)]
        if missing:
            raise RuntimeError(f"shards {missing[:5]} of {self.out} are missing")
        tables = [read_npz(self.shard_path(i)) for i in range(n_shards)]
        written = write_table(self.out, concat_tables(tables), self.fmt, self.provenance())
        if not keep_shards:
            shutil.rmtree(self.directory)
        return written
