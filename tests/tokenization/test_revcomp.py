"""Reverse complement on strings and on token ids."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.errors import ConfigError
from bioLM.tokenization import complement_table, encode_sequence, reverse_complement, reverse_complement_ids


def test_string_reverse_complement():
    assert reverse_complement("ACGTNRY-") == "-RYNACGT"


@pytest.mark.parametrize("name", ["char", "kmer3", "kmer6"])
def test_ids_decode_to_reverse_complement(tokenizers, name):
    tokenizer = tokenizers[name]
    text = "ACGTTGCANNRYACGTAGGCTTAGCAATG"
    ids = encode_sequence(tokenizer, text)
    rc_ids = reverse_complement_ids(tokenizer, ids)
    assert rc_ids.shape == ids.shape
    assert tokenizer.decode(rc_ids.tolist()) == reverse_complement(text)
    np.testing.assert_array_equal(reverse_complement_ids(tokenizer, rc_ids), ids)


def test_char_ids_equal_encoding_of_reverse_complement(tokenizers):
    tokenizer = tokenizers["char"]
    text = "ACGTNRYSWKMBDHV-"
    assert reverse_complement_ids(tokenizer, encode_sequence(tokenizer, text)).tolist() == \
        encode_sequence(tokenizer, reverse_complement(text)).tolist()


def test_overlapping_stride_one_equals_encoding_of_reverse_complement(tokenizers):
    tokenizer = tokenizers["overlap3"]
    text = "ACGTTGCANACGGT"
    ids = encode_sequence(tokenizer, text)
    assert reverse_complement_ids(tokenizer, ids).tolist() == encode_sequence(tokenizer, reverse_complement(text)).tolist()


def test_special_tokens_stay(tokenizers):
    table = complement_table(tokenizers["kmer3"])
    assert table[:5].tolist() == [0, 1, 2, 3, 4]
    assert table[5] == 5 + 63  # AAA <-> TTT


@pytest.mark.parametrize("name", ["bpe", "protein"])
def test_undefined_for_bpe_and_protein(tokenizers, name):
    with pytest.raises(ConfigError, match="reverse-complement the sequence"):
        reverse_complement_ids(tokenizers[name], [5, 6])
