"""The model side of the coder: one forward pass per token with the KV cache, in lockstep lanes.

Context rule (encoder, decoder and :mod:`bioLM.compression.bits` follow it exactly):

* a lane starts by feeding ``<bos>``; the distribution after it codes the first token;
* each later step feeds the previous token through the KV cache (``past_key_values``);
* when the cache already holds ``context`` tokens (the model's ``block_size``), the cache is dropped and
  rebuilt ("re-primed") by one forward pass over the last ``reprime = context // 2`` fed tokens (the new
  token included) at positions ``0 .. reprime - 1``. So every prediction sees between ``reprime`` and
  ``context`` tokens of left context, and positions never exceed what the model was trained on.

Lanes: a record's tokens are cut into ``L`` contiguous lanes (sizes differ by at most one, longer lanes
first) that run as one batch of ``L`` rows, each from its own ``<bos>``. Encoder and decoder build the
same batches, so the logits are the same; a finished lane is fed ``<pad>`` and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers.cache_utils import DynamicCache

from bioLM.errors import ConfigError
from bioLM.tokenization import encode_sequence
from bioLM.tokenization.special import BOS_ID, PAD_ID


def lane_sizes(n_tokens: int, lanes: int, min_lane_tokens: int) -> list[int]:
    """Sizes of the lanes a record of ``n_tokens`` is cut into (at most ``lanes``, each >= ``min_lane_tokens``
    unless there is only one)."""
    count = max(1, min(lanes, n_tokens // max(1, min_lane_tokens)))
    q, r = divmod(n_tokens, count)
    return [q + 1 if i < r else q for i in range(count)]


def reprime_size(context: int) -> int:
    """Tokens kept when the cache is full: ``context // 2`` (at least 1)."""
    return max(1, context // 2)


def segments(n_tokens: int, context: int) -> list[tuple[int, int, int]]:
    """The windows the context rule gives one lane of ``n_tokens`` predictions: ``(window_start, first, end)``
    in fed-token indices (fed token ``j`` is ``<bos>`` for ``j == 0``, else token ``j - 1``); predictions
    ``first .. end - 1`` are made from fed tokens ``window_start .. j``."""
    keep = reprime_size(context)
    out, j, cache = [], 0, 0
    start, first = 0, 0
    while j < n_tokens:
        if cache + 1 > context:
            out.append((start, first, j))
            start, first, cache = j - keep + 1, j, keep
        else:
            cache += 1
        j += 1
    if n_tokens:
        out.append((start, first, n_tokens))
    return out


@dataclass
class CodingAlphabet:
    """The tokens a model codes DNA with: ids (not special) whose text is only A/C/G/T, and their text. The one
    place the compressor and ``biolm bits`` choose them, start a lane, and tokenize bases."""

    ids: np.ndarray
    texts: list[str]

    @classmethod
    def from_tokenizer(cls, tokenizer, where: str | Path = "the model") -> CodingAlphabet:
        """The alphabet of ``tokenizer``; a ConfigError naming ``where`` when no token is made of A/C/G/T."""
        special = set(tokenizer.all_special_ids)
        chosen = sorted((i, t) for t, i in tokenizer.get_vocab().items()
                        if t and set(t) <= set("ACGT") and i not in special)
        if not chosen:
            raise ConfigError(f"{where}: the tokenizer has no token made of A/C/G/T only; coding DNA (compress, "
                              "bits per base) needs a DNA tokenizer")
        return cls(np.array([i for i, _ in chosen], dtype=np.int64), [t for _, t in chosen])

    def index_of(self) -> np.ndarray:
        """Lookup table: token id -> symbol index (-1 for ids outside the alphabet)."""
        table = np.full(int(self.ids.max()) + 1 if len(self.ids) else 1, -1, dtype=np.int64)
        table[self.ids] = np.arange(len(self.ids))
        return table



def start_token(tokenizer, where: str | Path = "the model") -> int:
    """The token every lane starts from: ``<bos>``, else ``<eos>`` (a ConfigError naming ``where`` if neither)."""
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ConfigError(f"{where}: the tokenizer has neither <bos> nor <eos> to start a lane with")
    return int(start)


def base_token_ids(tokenizer, bases: str) -> np.ndarray:
    """Token ids of the A/C/G/T string ``bases`` (no special tokens): bioLM's fast path for its own tokenizers,
    the tokenizer's own call for any other. Callers check that the tokens spell ``bases`` back."""
    if getattr(tokenizer, "init_kwargs", {}).get("biolm"):
        return np.asarray(encode_sequence(tokenizer, bases), dtype=np.int64)
    return np.asarray(tokenizer(bases, add_special_tokens=False)["input_ids"], dtype=np.int64)

class LaneStepper:
    """Feeds one token per lane per step and returns the logits of the coding alphabet (fp32, CPU)."""

    def __init__(self, model, alphabet_ids: np.ndarray, lanes: int, context: int, start_id: int = BOS_ID) -> None:
        self.model, self.start_id = model, start_id
        self.columns = torch.as_tensor(alphabet_ids, dtype=torch.long)
        self.lanes = lanes
        self.context = context
        self.keep = reprime_size(context)
        self.cache = DynamicCache(config=model.config)
        self.cache_len = 0
        self.history = torch.empty(lanes, 0, dtype=torch.long)  # (L, <= keep - 1) last fed tokens

    def start(self) -> torch.Tensor:
        """Feed the start token (``<bos>``, else ``<eos>``) to every lane; logits ``(L, V_alphabet)``."""
        return self.feed(torch.full((self.lanes,), self.start_id, dtype=torch.long))

    def feed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens`` (shape ``(L,)``, token ids) and return the next-token logits ``(L, V_alphabet)``."""
        tokens = tokens.view(self.lanes, 1)
        if self.cache_len + 1 > self.context:
            inputs = torch.cat([self.history[:, -(self.keep - 1):] if self.keep > 1 else self.history[:, :0],
                                tokens], dim=1)  # (L, keep)
            self.cache, self.cache_len = DynamicCache(config=self.model.config), self.keep
        else:
            inputs = tokens
            self.cache_len += 1
        if self.keep > 1:
            self.history = torch.cat([self.history, tokens], dim=1)[:, -(self.keep - 1):]
        out = self.model(input_ids=inputs, past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        return out.logits[:, -1, :].index_select(1, self.columns).float()


def pad_tokens(lanes: int) -> torch.Tensor:
    """``<pad>`` for every lane (fed to lanes that have finished)."""
    return torch.full((lanes,), PAD_ID, dtype=torch.long)
