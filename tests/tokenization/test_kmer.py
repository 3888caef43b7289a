"""k-mer tokenizers: the numpy ids path against a plain-Python reference, round trips, errors, leakage warning."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from bioLM.errors import ConfigError
from bioLM.tokenization import build_tokenizer, encode_sequence, encode_with_offsets
from bioLM.tokenization import kmer as kmer_module


def reference_nonoverlapping(sequence: str, k: int) -> list[str]:
    """The documented rule, written plainly: runs of ACGT in k-mers, then the tail and other letters singly."""
    return re.findall(f"[ACGT]{{{k}}}|.", sequence.upper().replace("U", "T"), flags=re.S)


def reference_overlapping(sequence: str, k: int, stride: int) -> list[str]:
    s = sequence.upper().replace("U", "T")
    windows = [s[i:i + k] for i in range(0, len(s) - k + 1, stride)]
    tokens = [w if set(w) <= set("ACGT") else "N" * k for w in windows]
    covered = (len(windows) - 1) * stride + k if windows else 0
    return tokens + list(s[covered:])


def random_with_ambiguity(rng: np.random.Generator, length: int) -> str:
    letters = np.array(list("ACGTACGTACGTacgtNNRY-"))
    return "".join(rng.choice(letters, size=length))


@pytest.mark.parametrize("k", range(1, 9))
def test_nonoverlapping_matches_reference_and_round_trips(k):
    tokenizer = build_tokenizer("kmer", k=k)
    rng = np.random.default_rng(k)
    for length in [0, 1, k - 1, k, k + 1, 5 * k + 3, 97]:
        text = random_with_ambiguity(rng, length)
        ids = encode_sequence(tokenizer, text)
        assert tokenizer.convert_ids_to_tokens(ids.tolist()) == reference_nonoverlapping(text, k)
        assert ids.tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids.tolist()) == text.upper()


@pytest.mark.parametrize(("k", "stride"), [(2, 1), (3, 1), (4, 1), (5, 1), (7, 1), (8, 1), (4, 3), (6, 1), (6, 4), (8, 5)])
def test_overlapping_matches_reference(make_overlapping, k, stride):
    tokenizer = make_overlapping(k, stride)
    rng = np.random.default_rng(k * 10 + stride)
    for length in [0, 1, k - 1, k, k + 1, 41, 100]:
        text = random_with_ambiguity(rng, length)
        ids = encode_sequence(tokenizer, text)
        assert tokenizer.convert_ids_to_tokens(ids.tolist()) == reference_overlapping(text, k, stride)
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids.tolist()


def test_clean_sequence_uses_base4_ids():
    tokenizer = build_tokenizer("kmer", k=2)
    expected = [5 + 4 * a + b for a, b in itertools.product(range(4), repeat=2)]
    assert encode_sequence(tokenizer, "AAACAGATCACCCGCTGAGCGGGTTATCTGTT").tolist() == expected


def test_blocks_cut_only_at_ambiguity(monkeypatch):
    tokenizer = build_tokenizer("kmer", k=3)
    rng = np.random.default_rng(3)
    text = random_with_ambiguity(rng, 2000)
    whole = encode_with_offsets(tokenizer, text)
    monkeypatch.setattr(kmer_module, "_BLOCK", 64)
    blocked = encode_with_offsets(tokenizer, text)
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])


def test_overlapping_warns_about_leakage():
    with pytest.warns(UserWarning, match="leak"):
        build_tokenizer("kmer", k=6, stride=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k=0 is out of range"),
    ({"k": 9}, "k=9 is out of range"),
    ({"k": 4, "stride": 5}, "stride=5 must be between 1 and k=4"),
    ({"k": 4, "alphabet": "protein"}, "k-mer tokenizers are for DNA"),
])
def test_bad_kmer_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_tokenizer("kmer", **kwargs)


def test_unknown_kind_and_alphabet():
    with pytest.raises(ConfigError, match="kind='wordpiece'"):
        build_tokenizer("wordpiece")
    with pytest.raises(ConfigError, match="alphabet='klingon'"):
        build_tokenizer("char", alphabet="klingon")
