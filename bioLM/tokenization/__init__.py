"""Tokenizers for DNA and protein: per-residue (``char``), k-mer (non-overlapping or overlapping) and BPE.

Every tokenizer is a ``transformers.PreTrainedTokenizerFast`` saved as ``tokenizer.json`` +
``tokenizer_config.json`` and loadable with ``AutoTokenizer.from_pretrained(dir)``; ``import bioLM`` registers the overlapping k-mer class
with ``AutoTokenizer`` (in :func:`bioLM.model.register_auto_classes`). Special tokens, same ids everywhere:
``<pad>``=0, ``<unk>``=1, ``<bos>``=2, ``<eos>``=3 (record separator), ``<mask>``=4. Letters are upper-cased,
DNA reads U as T, and characters outside the vocabulary become ``<unk>`` (the readers do strict checking).
"""

from bioLM.tokenization.api import (
    bases_per_token,
    build_tokenizer,
    load_tokenizer,
    padded_vocab_size,
    portable_tokenizer_config,
    save_portable_tokenizer,
    write_side_file,
)
from bioLM.tokenization.encode import encode_sequence
from bioLM.tokenization.hf import BioLMOverlappingKmerTokenizer
from bioLM.tokenization.offsets import encode_with_offsets, token_offsets, tokens_to_bases
from bioLM.tokenization.revcomp import complement_table, reverse_complement, reverse_complement_ids
from bioLM.tokenization.spec import KINDS, SPEC_FILE, TokenizerSpec, is_biolm_tokenizer, tokenizer_spec
from bioLM.tokenization.special import (
    BOS_ID,
    EOS_ID,
    MASK_ID,
    N_SPECIAL,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
)

__all__ = [
    "BOS_ID", "EOS_ID", "KINDS", "MASK_ID", "N_SPECIAL", "PAD_ID", "SPECIAL_TOKENS", "SPEC_FILE", "UNK_ID",
    "BioLMOverlappingKmerTokenizer", "TokenizerSpec", "bases_per_token", "build_tokenizer", "complement_table",
    "encode_sequence", "encode_with_offsets", "is_biolm_tokenizer", "load_tokenizer", "padded_vocab_size", "portable_tokenizer_config",
    "reverse_complement", "reverse_complement_ids", "save_portable_tokenizer", "token_offsets", "tokenizer_spec",
    "tokens_to_bases", "write_side_file",
]
