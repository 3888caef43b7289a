"""Golden ids: fixed strings with their exact expected ids, for every kind, through both encode paths."""

from __future__ import annotations

import pytest

from bioLM.tokenization import encode_sequence

# (tokenizer name, input, ids without special tokens)
GOLDEN = [
    ("char", "ACGTNRYSWKMBDHV-", list(range(5, 21))),
    ("char", "acgu", [5, 6, 7, 8]),  # lowercase upper-cased, U read as T
    ("char", "AC GT\nJ", [5, 6, 1, 7, 8, 1, 1]),  # whitespace and J are <unk>
    ("char", "A\u00f1", [5, 1]),  # non-ASCII is <unk>
    ("protein", "ACDEFGHIKLMNPQRSTVWYBZXUO*-", list(range(5, 32))),
    ("protein", "mkJ!u", [15, 13, 1, 1, 28]),  # protein keeps U (selenocysteine)
    # k=3, stride 3: ACG | T A (tail of the run) | N N | ACG TTT  (k-mer id = 5 + base-4 value)
    ("kmer3", "ACGTANNACGTTu", [11, 73, 70, 74, 74, 11, 68]),
    ("kmer3", "ACGTA", [11, 73, 70]),
    ("kmer3", "AC", [70, 71]),
    ("kmer3", "RACGT", [75, 11, 73]),  # R is a single-letter token; the frame restarts after it
    ("kmer6", "ACGTACGGGGGG", [5 + 433, 5 + 2730]),
    # k=3, stride 1: every window; any window holding N is the NNN token (69)
    ("overlap3", "ACGTANNACGTTu", [11, 32, 49, 69, 69, 69, 69, 11, 32, 52, 68]),
    ("overlap3", "AC", [70, 71]),  # shorter than k: single letters
    # k=4, stride 2: windows at 0, 2; base 6 is the uncovered tail
    ("overlap4s2", "ACGTACG", [5 + 27, 5 + 0b10110001, 264]),
]


@pytest.mark.parametrize(("name", "text", "expected"), GOLDEN)
def test_golden_ids(tokenizers, name, text, expected):
    tokenizer = tokenizers[name]
    assert encode_sequence(tokenizer, text).tolist() == expected
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == expected
    assert tokenizer(text)["input_ids"] == [2, *expected, 3]


def test_special_token_ids_are_shared(tokenizers):
    for name, tokenizer in tokenizers.items():
        assert tokenizer.convert_tokens_to_ids(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]) == [0, 1, 2, 3, 4], name
        assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.bos_token_id,
                tokenizer.eos_token_id, tokenizer.mask_token_id) == (0, 1, 2, 3, 4), name


def test_vocabulary_sizes(tokenizers):
    assert len(tokenizers["char"]) == 21
    assert len(tokenizers["protein"]) == 32
    assert len(tokenizers["kmer3"]) == 5 + 64 + 1 + 16
    assert len(tokenizers["kmer6"]) == 5 + 4096 + 1 + 16
    assert len(tokenizers["bpe"]) == 200


@pytest.mark.parametrize(("name", "alphabet"), [("char", "dna"), ("protein", "protein"), ("kmer3", "dna"),
                                                ("bpe", "dna")])
def test_letter_policy_matches_alphabet_normalize(tokenizers, name, alphabet):
    from bioLM.alphabet import normalize

    text = "acgtnACGTUuryN-" if alphabet == "dna" else "mktAYuoxbz*-"
    tokenizer = tokenizers[name]
    assert encode_sequence(tokenizer, text).tolist() == encode_sequence(tokenizer, normalize(text, alphabet)).tolist()
    assert tokenizer.decode(encode_sequence(tokenizer, text).tolist()) == normalize(text, alphabet)


@pytest.mark.parametrize("name", ["char", "protein"])
def test_per_residue_round_trip(tokenizers, name):
    from bioLM.tokenization.special import LETTERS

    letters = LETTERS["protein" if name == "protein" else "dna"]
    text = letters + letters.lower().replace("-", "") + letters[::-1]
    assert tokenizers[name].decode(encode_sequence(tokenizers[name], text).tolist()) == text.upper()
