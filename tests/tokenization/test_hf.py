"""Hugging Face integration: save/load, AutoTokenizer (also in a fresh process), recorded spec, sizes, batching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from bioLM.errors import ConfigError, ModelDirectoryError
from bioLM.tokenization import (
    BioLMOverlappingKmerTokenizer,
    bases_per_token,
    encode_sequence,
    load_tokenizer,
    padded_vocab_size,
    tokenizer_spec,
)

TEXT = "ACGTTGCAnNRACGTAGGCTTAGCAAT"
SPECS = {
    "char": ("char", "dna", 1, 1), "protein": ("char", "protein", 1, 1), "kmer3": ("kmer", "dna", 3, 3),
    "overlap4s2": ("kmer", "dna", 4, 2), "bpe": ("bpe", "dna", None, None),
}


@pytest.fixture(scope="module")
def saved(tokenizers, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("saved")
    for name in SPECS:
        tokenizers[name].save_pretrained(str(root / name))
    return {name: root / name for name in SPECS}


@pytest.mark.parametrize("name", list(SPECS))
def test_save_and_autotokenizer_round_trip(tokenizers, saved, name):
    assert {"tokenizer.json", "tokenizer_config.json"} <= {p.name for p in saved[name].iterdir()}
    config = json.loads((saved[name] / "tokenizer_config.json").read_text())
    assert config["biolm"]["kind"] == SPECS[name][0]
    assert config["biolm"]["padded_vocab_size"] % 64 == 0
    assert config["biolm"]["vocab_size"] == len(tokenizers[name])
    loaded = AutoTokenizer.from_pretrained(str(saved[name]))
    assert isinstance(loaded, PreTrainedTokenizerFast)
    assert tuple(vars(tokenizer_spec(loaded)).values())[:4] == SPECS[name]
    assert loaded(TEXT)["input_ids"] == tokenizers[name](TEXT)["input_ids"]
    assert encode_sequence(loaded, TEXT).tolist() == encode_sequence(tokenizers[name], TEXT).tolist()
    assert load_tokenizer(saved[name]).get_vocab() == tokenizers[name].get_vocab()


def test_overlapping_kind_loads_as_registered_class(saved):
    assert type(AutoTokenizer.from_pretrained(str(saved["overlap4s2"]))) is BioLMOverlappingKmerTokenizer
    assert type(AutoTokenizer.from_pretrained(str(saved["kmer3"]))).__name__ == "TokenizersBackend"


def test_autotokenizer_in_fresh_process(tokenizers, saved):
    code = (
        "import json, sys, bioLM.tokenization, transformers\n"
        "out = {}\n"
        "for name, path in json.loads(sys.argv[1]).items():\n"
        "    t = transformers.AutoTokenizer.from_pretrained(path)\n"
        "    assert isinstance(t, transformers.PreTrainedTokenizerFast), type(t)\n"
        "    out[name] = [type(t).__name__, t(sys.argv[2])['input_ids']]\n"
        "print(json.dumps(out))\n"
    )
    paths = json.dumps({name: str(path) for name, path in saved.items()})
    result = subprocess.run([sys.executable, "-c", code, paths, TEXT], capture_output=True, text=True,
                            timeout=120, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in SPECS:
        assert out[name][1] == tokenizers[name](TEXT)["input_ids"], name
    assert out["overlap4s2"][0] == "BioLMOverlappingKmerTokenizer"


def test_padded_vocab_size_and_bases_per_token(tokenizers):
    assert padded_vocab_size(tokenizers["char"]) == 64
    assert padded_vocab_size(tokenizers["kmer6"]) == 4160  # 4118 tokens
    assert padded_vocab_size(tokenizers["char"], multiple=8) == 24
    with pytest.raises(ConfigError, match="multiple=0"):
        padded_vocab_size(tokenizers["char"], multiple=0)
    per_token = bases_per_token(tokenizers["kmer3"])
    assert per_token.shape == (len(tokenizers["kmer3"]),)
    assert per_token[:5].tolist() == [0, 0, 0, 0, 0]
    assert per_token[5] == 3 and per_token[-1] == 1
    overlap = bases_per_token(tokenizers["overlap4s2"])
    assert overlap[5] == 2 and overlap[-1] == 1  # a window adds `stride` new bases
    ids = encode_sequence(tokenizers["kmer3"], TEXT)
    assert per_token[ids].sum() == len(TEXT)


def test_overlapping_batch_padding_offsets_and_tensors(tokenizers):
    tokenizer = tokenizers["overlap4s2"]
    batch = tokenizer(["ACGTACGT", "ACGT"], padding=True, return_offsets_mapping=True)
    assert batch["input_ids"] == [[2, 32, 182, 32, 3], [2, 32, 3, 0, 0]]
    assert batch["attention_mask"] == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch["offset_mapping"][0] == [(0, 0), (0, 4), (2, 6), (4, 8), (0, 0)]
    tensors = tokenizer(["ACGTACGT", "ACGT"], padding=True, return_tensors="np")
    assert isinstance(tensors["input_ids"], np.ndarray) and tensors["input_ids"].shape == (2, 5)
    assert tokenizer("ACGTACGTAC", truncation=True, max_length=3)["input_ids"] == [2, 32, 182]
    assert tokenizer.tokenize("ACGTAC") == ["ACGT", "GTAC"]


def test_errors_for_foreign_tokenizers_and_directories(tmp_path):
    with pytest.raises(ModelDirectoryError, match="no tokenizer.json"):
        load_tokenizer(tmp_path)
    from tokenizers import Tokenizer, models

    foreign = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"a": 0}, unk_token="a")))
    with pytest.raises(ConfigError, match="not a bioLM tokenizer"):
        tokenizer_spec(foreign)
