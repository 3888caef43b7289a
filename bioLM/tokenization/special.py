"""Special tokens shared by every bioLM tokenizer, and the ``tokenizers`` components all kinds reuse.

Ids are fixed (``DEVELOPERS.md``): ``<pad>``=0, ``<unk>``=1, ``<bos>``=2, ``<eos>``=3 (the separator between
FASTA records in a corpus), ``<mask>``=4. A tokenizer's own tokens start at id 5.

Letter policy (same as :mod:`bioLM.alphabet`): the normalizer upper-cases, and for DNA reads ``U`` as ``T``.
A tokenizer never raises on a letter: a character outside its vocabulary (``J`` in DNA, ``!``, whitespace,
non-ASCII) becomes ``<unk>``. Strict checking with file/record/line is the readers' job
(:func:`bioLM.io.read_fastx`), which runs before tokenization.
"""

from __future__ import annotations

from tokenizers import normalizers, processors

from bioLM.alphabet import DNA_CANONICAL, IUPAC_DNA, PROTEIN_EXTRA, PROTEIN_STANDARD
from bioLM.errors import ConfigError

PAD, UNK, BOS, EOS, MASK = "<pad>", "<unk>", "<bos>", "<eos>", "<mask>"
SPECIAL_TOKENS: list[str] = [PAD, UNK, BOS, EOS, MASK]
PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID = range(5)
N_SPECIAL = len(SPECIAL_TOKENS)

#: Single-residue tokens, in id order after the special tokens.
DNA_LETTERS = DNA_CANONICAL + "N" + IUPAC_DNA[5:] + "-"  # A C G T N, then R Y S W K M B D H V, gap
PROTEIN_LETTERS = PROTEIN_STANDARD + PROTEIN_EXTRA + "-"
LETTERS = {"dna": DNA_LETTERS, "protein": PROTEIN_LETTERS}

#: Keyword arguments naming the special tokens for ``PreTrainedTokenizerFast``.
HF_SPECIAL_KWARGS = {"pad_token": PAD, "unk_token": UNK, "bos_token": BOS, "eos_token": EOS, "mask_token": MASK}


def letters_of(alphabet: str) -> str:
    """Single-residue letters of ``alphabet`` ('dna' or 'protein'); 'rna' is read as DNA."""
    name = "dna" if alphabet == "rna" else alphabet
    if name not in LETTERS:
        raise ConfigError(f"alphabet={alphabet!r} is not supported by the tokenizers; use 'dna' or 'protein'")
    return LETTERS[name]


def normalizer(alphabet: str) -> normalizers.Normalizer:
    """Upper-case every letter (one ``Replace`` per lowercase letter, which keeps offsets 1:1); DNA: U -> T."""
    steps = [normalizers.Replace(chr(c).lower(), chr(c)) for c in range(ord("A"), ord("Z") + 1)]
    if alphabet in ("dna", "rna"):
        steps.append(normalizers.Replace("U", "T"))
    return normalizers.Sequence(steps)


def post_processor() -> processors.PostProcessor:
    """``<bos> $A <eos>`` for one sequence, ``<bos> $A <eos> $B <eos>`` for a pair (when special tokens are added)."""
    return processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", pair=f"{BOS} $A {EOS} $B:1 {EOS}:1",
        special_tokens=[(BOS, BOS_ID), (EOS, EOS_ID)])
