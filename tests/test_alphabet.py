import numpy as np
import pytest

from bioLM.alphabet import (
    DNA,
    PROTEIN,
    RNA,
    detect_alphabet,
    gc_fraction,
    get_alphabet,
    normalize,
    reverse_complement,
    soft_mask,
)
from bioLM.errors import AlphabetError


def test_alphabets_letters():
    assert set("ACGTN") <= set(DNA.letters) and "U" not in DNA.letters
    assert "U" in RNA.letters and "T" in RNA.letters
    assert set("ACDEFGHIKLMNPQRSTVWYBZXUO*") <= set(PROTEIN.letters)
    assert get_alphabet("DNA") is DNA
    with pytest.raises(AlphabetError, match="unknown alphabet 'xna'"):
        get_alphabet("xna")


@pytest.mark.parametrize(("sequence", "expected"), [
    ("ACGTACGTNN", "dna"), ("acgu", "rna"), ("ACGU", "rna"), ("MKVLEFQ", "protein"), ("MKVW", "protein"),
    ("ACGTACGTACGTACGTACGR", "dna"), ("ACGTRYKM", "protein"), ("", "dna"),
    ("acgurykmacgu", "rna"), ("acgtuacgturyk", "dna"), ("MKVWHRDSTAGC", "protein"),
])
def test_detect_alphabet(sequence, expected):
    assert detect_alphabet(sequence) == expected


def test_normalize_policy():
    assert normalize("acgUn") == "ACGTN"
    assert normalize("acgu", "rna", rna_as_dna=False) == "ACGU"
    assert normalize("mkv*", "protein") == "MKV*"
    assert normalize("ACJT", replace_invalid=True) == "ACNT"
    assert normalize("MKJ", "protein", replace_invalid=True) == "MKX"


def test_normalize_error_names_character_and_position():
    with pytest.raises(AlphabetError, match=r"'j' at position 2 .*dna") as info:
        normalize("ACjT", path="f.fa", record="r1")
    assert info.value.path == "f.fa" and info.value.record == "r1" and info.value.position == 2
    with pytest.raises(AlphabetError, match=r"non-ASCII character 'ß' at position 3"):
        normalize("acgßt")


def test_normalize_non_ascii_replacement_keeps_positions():
    assert normalize("acgßtu", replace_invalid=True) == "ACGNTT"
    assert normalize("mkßv", "protein", replace_invalid=True) == "MKXV"


def test_soft_mask_reverse_complement_gc():
    np.testing.assert_array_equal(soft_mask("ACgtN"), [False, False, True, True, False])
    assert reverse_complement("ACGTRYN") == "NRYACGT"
    assert reverse_complement("acgT") == "Acgt"
    assert gc_fraction("GGCCAATTNN") == pytest.approx(0.5)
    assert gc_fraction("NNN") == 0.0
