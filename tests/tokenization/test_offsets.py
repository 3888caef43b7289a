"""Offsets: every token maps back to the bases it covers, for every kind (char, k-mer of any stride, BPE)."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.errors import ConfigError
from bioLM.tokenization import encode_with_offsets, token_offsets, tokens_to_bases

KINDS = ["char", "protein", "kmer3", "kmer6", "overlap3", "overlap4s2", "bpe", "bpe_protein"]


def sample(name: str, rng: np.random.Generator, length: int) -> str:
    letters = "ACDEFGHIKLMNPQRSTVWYX" if "protein" in name else "ACGTACGTacgtNR"
    return "".join(rng.choice(list(letters), size=length))


@pytest.mark.parametrize("name", KINDS)
def test_offsets_point_at_the_token_letters(tokenizers, name):
    tokenizer = tokenizers[name]
    rng = np.random.default_rng(len(name))
    text = sample(name, rng, 1500)
    ids, offsets = encode_with_offsets(tokenizer, text)
    assert offsets.shape == (len(ids), 2) and offsets.dtype == np.int64
    assert (offsets[:, 1] > offsets[:, 0]).all()
    assert (np.diff(offsets[:, 0]) > 0).all()  # increasing starts
    normalized = text.upper()
    tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
    for token, (start, end) in zip(tokens, offsets.tolist()):
        piece = normalized[start:end]
        if set(token) == {"N"} and len(token) > 1:  # overlapping window holding an ambiguity code
            assert len(piece) == len(token) and set(piece) - set("ACGT")
        else:
            assert piece == token
    covered = np.zeros(len(text), dtype=bool)
    for start, end in offsets.tolist():
        covered[start:end] = True
    assert covered.all()  # every base is in some token


@pytest.mark.parametrize("name", KINDS)
def test_offsets_agree_with_transformers(tokenizers, name):
    tokenizer = tokenizers[name]
    text = sample(name, np.random.default_rng(5), 300)
    hf = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert [tuple(o) for o in token_offsets(tokenizer, text).tolist()] == [tuple(o) for o in hf]


def test_bpe_offsets_across_pieces(tokenizers):
    tokenizer = tokenizers["bpe"]  # pieces of 512 letters
    text = "ACGT" * 300
    offsets = token_offsets(tokenizer, text)
    assert 512 in offsets[:, 0] and 1024 in offsets[:, 0]  # no token spans a piece boundary
    assert offsets[-1, 1] == len(text)


def test_tokens_to_bases():
    offsets = np.array([[0, 3], [1, 4], [4, 5]])
    values = np.array([3.0, 6.0, 1.0])
    assert tokens_to_bases(values, offsets, 6).tolist() == [3.0, 4.5, 4.5, 6.0, 1.0, 0.0]
    assert tokens_to_bases(values, offsets, 6, reduce="sum").tolist() == [3.0, 9.0, 9.0, 6.0, 1.0, 0.0]
    assert tokens_to_bases(values, offsets, 6, reduce="max").tolist() == [3.0, 6.0, 6.0, 6.0, 1.0, 0.0]
    matrix = tokens_to_bases(np.ones((3, 2)), offsets, 5)
    assert matrix.shape == (5, 2)
    with pytest.raises(ConfigError, match="values has 2 rows but offsets has 3"):
        tokens_to_bases(values[:2], offsets, 6)
