"""The Hugging Face side: the overlapping k-mer tokenizer class and its ``AutoTokenizer`` registration.

Standard kinds (char, non-overlapping k-mer, BPE) are plain ``PreTrainedTokenizerFast`` (in transformers 5 an
alias of ``TokenizersBackend``) built from a ``tokenizers`` pipeline. Overlapping k-mers cannot be expressed with
``tokenizers`` components (no pre-tokenizer emits overlapping pieces), so they use
:class:`BioLMOverlappingKmerTokenizer`, a ``PreTrainedTokenizerFast`` subclass whose ``__call__`` computes ids
with bioLM's numpy k-mer path. It is registered with ``AutoTokenizer`` by
:func:`bioLM.model.register_auto_classes` (the one registration place), which ``import bioLM`` runs as soon as
transformers is imported, so ``AutoTokenizer.from_pretrained(dir)`` works after ``import bioLM``.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig, PreTrainedTokenizerFast
from transformers.tokenization_utils_base import BatchEncoding, TruncationStrategy

from bioLM.tokenization.encode import _encode
from bioLM.tokenization.special import BOS_ID, EOS_ID


class BioLMTokenizerConfig(PretrainedConfig):
    """Placeholder config that ``AutoTokenizer.register`` needs as a key; never saved with a model."""

    model_type = "biolm_tokenizer"


class BioLMOverlappingKmerTokenizer(PreTrainedTokenizerFast):
    """Overlapping k-mer tokenizer (stride < k). Calls on raw sequences give numpy-path ids and base offsets.

    ``tokenizer("ACGTAC")`` -> ``<bos>`` + windows + ``<eos>``; ``return_offsets_mapping`` gives each token's
    ``(start, end)`` in the input (``(0, 0)`` for special tokens). Sequence pairs are not supported.
    ``is_split_into_words=True`` input and ``backend_tokenizer`` read DNABERT-style space-separated k-mers.
    ``decode`` returns the k-mers separated by spaces.
    """

    def _encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> BatchEncoding:
        if kwargs.get("is_split_into_words"):
            return super()._encode_plus(text, text_pair, **kwargs)
        if text_pair is not None:
            raise ValueError("BioLMOverlappingKmerTokenizer does not encode sequence pairs; encode each sequence")
        batched = isinstance(text, (list, tuple))
        rows: dict[str, list] = {"input_ids": [], "offset_mapping": [], "special_tokens_mask": []}
        max_length = kwargs.get("max_length")
        truncate = kwargs.get("truncation_strategy", TruncationStrategy.DO_NOT_TRUNCATE)
        for sequence in (text if batched else [text]):
            ids, offsets = _encode(self, sequence, offsets=bool(kwargs.get("return_offsets_mapping")))
            ids = ids.tolist()
            offsets = [] if offsets is None else [tuple(o) for o in offsets.tolist()]
            special = [0] * len(ids)
            if kwargs.get("add_special_tokens", True):
                ids, offsets = [BOS_ID, *ids, EOS_ID], [(0, 0), *offsets, (0, 0)]
                special = [1, *special, 1]
            if truncate != TruncationStrategy.DO_NOT_TRUNCATE and max_length is not None:
                ids, offsets, special = ids[:max_length], offsets[:max_length], special[:max_length]
            rows["input_ids"].append(ids)
            rows["offset_mapping"].append(offsets)
            rows["special_tokens_mask"].append(special)
        if not kwargs.get("return_offsets_mapping"):
            del rows["offset_mapping"]
        if not kwargs.get("return_special_tokens_mask"):
            del rows["special_tokens_mask"]
        if kwargs.get("return_length"):
            rows["length"] = [len(ids) for ids in rows["input_ids"]]
        if not batched:
            rows = {key: value[0] for key, value in rows.items()}
        return self.pad(rows, padding=kwargs.get("padding_strategy", "do_not_pad"), max_length=max_length,
                        pad_to_multiple_of=kwargs.get("pad_to_multiple_of"),
                        padding_side=kwargs.get("padding_side"),
                        return_attention_mask=kwargs.get("return_attention_mask"),
                        return_tensors=kwargs.get("return_tensors"))

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False,
                 **kwargs: Any) -> list[str]:
        """The k-mer strings of ``text`` (windows, then single-letter tail tokens)."""
        ids = self(text, add_special_tokens=add_special_tokens)["input_ids"]
        return self.convert_ids_to_tokens(ids)

