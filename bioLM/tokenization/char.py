"""Per-residue tokenizers: one token per nucleotide or amino acid.

DNA vocabulary (ids): specials 0-4, ``A C G T N`` 5-9, the other IUPAC codes ``R Y S W K M B D H V`` 10-19
(each its own token, so ``decode(encode(s)) == s``), gap ``-`` 20. ``U``/``u`` read as ``T``.
Protein vocabulary: specials 0-4, the 20 standard amino acids ``ACDEFGHIKLMNPQRSTVWY`` 5-24, then
``B Z X U O *`` 25-30 and gap ``-`` 31. Lowercase is upper-cased; anything else is ``<unk>`` (id 1).
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

from bioLM.tokenization.special import SPECIAL_TOKENS, UNK, letters_of, normalizer, post_processor

#: One piece per character (``[\\s\\S]`` so that newlines are pieces too, which then map to ``<unk>``).
ANY_CHAR = r"[\s\S]"


def char_vocab(alphabet: str = "dna") -> dict[str, int]:
    """Token -> id of the per-residue tokenizer of ``alphabet``."""
    return {token: i for i, token in enumerate(SPECIAL_TOKENS + list(letters_of(alphabet)))}


def char_backend(alphabet: str = "dna") -> Tokenizer:
    """The ``tokenizers`` pipeline: upper-case normalizer, one piece per character, WordLevel, Fuse decoder."""
    tokenizer = Tokenizer(models.WordLevel(char_vocab(alphabet), unk_token=UNK))
    tokenizer.normalizer = normalizer(alphabet)
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(ANY_CHAR), behavior="isolated")
    tokenizer.post_processor = post_processor()
    tokenizer.decoder = decoders.Fuse()
    return tokenizer
