"""BPE: training from sequences and FASTA files, piece-aligned fast path, round trip, errors."""

from __future__ import annotations

import numpy as np
import pytest

from bioLM.errors import ConfigError, InputFormatError
from bioLM.synthetic import markov_dna, write_fasta_records
from bioLM.tokenization import bases_per_token, build_tokenizer, encode_sequence, tokenizer_spec


def test_bpe_learns_merges_and_keeps_every_letter(tokenizers):
    tokenizer = tokenizers["bpe"]
    vocab = tokenizer.get_vocab()
    assert [vocab[t] for t in ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]] == [0, 1, 2, 3, 4]
    assert all(letter in vocab for letter in "ACGTNRYSWKMBDHV-")
    assert max(len(token) for token in vocab) > 3  # merges happened
    assert tokenizer_spec(tokenizer).kind == "bpe"
    assert tokenizer_spec(tokenizer).chunk_size == 512


def test_fast_path_equals_tokenizer_call_across_pieces(tokenizers, dna_training):
    tokenizer = tokenizers["bpe"]
    text = dna_training[0][:1700].lower() + "NNNN" + dna_training[1][:900]  # several 512-letter pieces
    ids = encode_sequence(tokenizer, text)
    assert ids.tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids.tolist()) == text.upper()
    assert bases_per_token(tokenizer)[ids].sum() == len(text)


def test_bpe_compresses_training_like_data(tokenizers, dna_training):
    ids = encode_sequence(tokenizers["bpe"], dna_training[2])
    assert len(dna_training[2]) / len(ids) > 2.0


def test_protein_bpe_round_trip(tokenizers):
    tokenizer = tokenizers["bpe_protein"]
    text = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWSTPSELGHAGLNGDILVWNPVLEDAFELSSMGIRVDADTLKHQLALTGDEDRLELEWHQALLRGEMPQTIGGGIGQSRLTMLLLQLPHIGQVQAGVWPAACRERVPEVAQLAAASPAF"
    ids = encode_sequence(tokenizer, text.lower())
    assert tokenizer.decode(ids.tolist()) == text
    assert 1 not in ids.tolist()


def test_train_from_fasta_files(tmp_path):
    rng = np.random.default_rng(1)
    path = write_fasta_records(tmp_path / "train.fa",
                               [(f"r{i}", markov_dna(2000, rng).lower()) for i in range(3)])
    tokenizer = build_tokenizer("bpe", vocab_size=64, files=[path], chunk_size=256)
    assert len(tokenizer) == 64
    assert tokenizer.decode(encode_sequence(tokenizer, "acgtn").tolist()) == "ACGTN"


def test_bpe_errors(tmp_path):
    with pytest.raises(ConfigError, match="vocab_size=10 is smaller than the 21"):
        build_tokenizer("bpe", vocab_size=10, sequences=["ACGT"])
    with pytest.raises(ConfigError, match="needs training data"):
        build_tokenizer("bpe", vocab_size=100)
    with pytest.raises(InputFormatError, match="missing.fa"):
        build_tokenizer("bpe", vocab_size=100, files=[tmp_path / "missing.fa"])


def test_fast_path_matches_rust_normalizer_on_odd_characters(tokenizers):
    tokenizer = tokenizers["bpe"]
    text = "acgu\u00f1!ACGT TTn"  # lowercase, U, non-ASCII, punctuation, space
    ids = encode_sequence(tokenizer, text)
    assert ids.tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.tolist().count(1) == 3  # n-tilde, '!' and the space are <unk>
