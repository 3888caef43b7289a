"""Corpus preparation into token shards + manifest, shard reading, and the training data module.

Import the data module from :mod:`bioLM.data.datamodule` (it pulls in Lightning).
"""

from bioLM.data.manifest import Manifest, load_manifest
from bioLM.data.prepare import PrepareConfig, prepare_corpus
from bioLM.data.shards import open_split, verify_dataset

__all__ = ["Manifest", "PrepareConfig", "load_manifest", "open_split", "prepare_corpus", "verify_dataset"]
