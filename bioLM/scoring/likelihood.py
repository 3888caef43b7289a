"""Sequence log-likelihoods under a causal language model: the quantity every zero-shot score is built on.

``log_likelihoods(model, tokenizer, sequences)`` returns, per sequence, the sum over its tokens of
``log p(token | <bos>, previous tokens)`` in nats (natural log). Every token of the sequence is predicted:
the input is ``<bos> t1 ... tn`` (the way pretraining and :mod:`bioLM.embedding` present a record) and the
log-probabilities of ``t1 ... tn`` are summed; no ``<eos>`` is added (a window is not a whole record).

Works with any Hugging Face causal LM whose forward is ``model(input_ids, attention_mask).logits`` (bioLM's
``BioLMForCausalLM``, GPT-2, Llama, ...). Batches are built by token budget with length sorting (longest
first), padded on the right; the result order is the input order. Optional bf16 autocast; the log-softmax is
always taken in float32.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bioLM.errors import AlphabetError, ConfigError
from bioLM.hardware import PRECISIONS, autocast
from bioLM.model.batching import collate, token_budget_batches
from bioLM.model.loading import model_context
from bioLM.model.modeling import IGNORE_INDEX, token_log_probs
from bioLM.tokenization import tokenizer_spec

logger = logging.getLogger(__name__)


@dataclass
class LikelihoodOptions:
    """How :func:`log_likelihoods` batches and computes."""

    max_tokens: int = 16384
    """Token budget of one batch: ``batch_size * longest_length <= max_tokens`` (padding included)."""
    precision: str = "fp32"
    """Forward passes under bf16 autocast (``bf16``; much faster on GPUs and AMX CPUs, ~1e-2 nats noise), in
    fp32, or ``auto`` (bf16 where the hardware runs it natively). The log-softmax is always float32."""
    add_bos: bool = True
    """Condition the first token on ``<bos>`` (as in pretraining). Without it the first token is not scored."""
    progress: bool = False
    """Show a tqdm progress bar over batches."""

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r} is not valid; choose one of {list(PRECISIONS)}")


def _device(model: torch.nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.device("cpu")
def check_causal_tokenizer(tokenizer) -> None:
    """Raise ConfigError for overlapping k-mer tokenizers: each base sits in several tokens, so a sum of token
    log-probabilities is not a sequence likelihood (and such models are not trained causally)."""
    try:
        spec = tokenizer_spec(tokenizer)
    except (ImportError, ConfigError):  # not a bioLM tokenizer: a plain HF one is read as non-overlapping
        return
    if spec.overlapping:
        raise ConfigError(f"the model's tokenizer reads overlapping k-mers (k={spec.k}, stride={spec.stride}): "
                          "token log-probabilities count each base several times, so they give no sequence "
                          "likelihood; score or generate with a model trained on char, BPE or non-overlapping "
                          "k-mer tokens (stride = k)")


def encode(tokenizer, sequences: Sequence[str], names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Token ids of each sequence, no special tokens. Raises :class:`AlphabetError` when a character maps to
    ``<unk>`` (outside the tokenizer's alphabet), naming the sequence and the 0-based position."""
    if not sequences:
        return []
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoded = tokenizer(list(sequences), add_special_tokens=False, return_offsets_mapping=fast)
    unk = tokenizer.unk_token_id
    out = []
    for i, ids in enumerate(encoded["input_ids"]):
        array = np.asarray(ids, dtype=np.int64)
        if unk is not None and (array == unk).any():
            token = int(np.flatnonzero(array == unk)[0])
            start = encoded["offset_mapping"][i][token][0] if fast else token  # slow tokenizers: per residue
            name = names[i] if names is not None else f"#{i + 1}"
            char = sequences[i][start] if start < len(sequences[i]) else "?"
            raise AlphabetError(f"character {char!r} at position {start} (0-based) is not in the model's "
                                "tokenizer alphabet; remove or replace it (N for DNA, X for protein)",
                                record=name)
        out.append(array)
    return out


@torch.inference_mode()
def _score_batch(model, rows: list[np.ndarray], pad_id: int, device: torch.device, precision: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sum of target log-probs per row (inputs already carry their prefix); returns (sums, n_predicted)."""
    batch = collate(rows, list(range(len(rows))), pad_id)
    input_ids, mask = batch.input_ids.to(device), batch.attention_mask.to(device)
    with autocast(device, precision):
        logits = model(input_ids=input_ids, attention_mask=mask).logits  # (B, T, V)
    valid = mask[:, 1:].bool()
    target = input_ids[:, 1:].masked_fill(~valid, IGNORE_INDEX)  # (B, T-1): position t predicts token t+1
    sums = token_log_probs(logits[:, :-1], target).sum(dim=1)
    return sums.double().cpu().numpy(), valid.sum(dim=1).cpu().numpy()


def score_ids(model, token_ids: Sequence[np.ndarray], *, bos_id: int | None, pad_id: int,
              options: LikelihoodOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood (nats) of each token id array, and how many tokens were scored.

    ``token_ids[i]`` has shape ``(n_i,)`` without special tokens; returns ``(sums, counts)``, each shape
    ``(len(token_ids),)``, in input order. With ``bos_id`` every token is scored (``counts[i] == n_i``);
    without it the first token only serves as context.
    """
    options = options or LikelihoodOptions()
    prefix = np.asarray([bos_id] if (bos_id is not None and options.add_bos) else [], dtype=np.int64)
    rows = [np.concatenate([prefix, np.asarray(ids, dtype=np.int64)]) for ids in token_ids]
    context = model_context(model)
    too_long = [i for i, r in enumerate(rows) if context is not None and len(r) > context]
    if too_long:
        raise ConfigError(f"{len(too_long)} sequence(s) need more tokens than the model's context of {context} "
                          f"(first: #{too_long[0] + 1} with {len(rows[too_long[0]])} tokens, <bos> included); "
                          "give shorter sequences or use a model with a longer context")
    sums = np.zeros(len(rows), dtype=np.float64)
    counts = np.zeros(len(rows), dtype=np.int64)
    device = _device(model)
    batches = token_budget_batches([len(r) for r in rows], options.max_tokens)
    if options.progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="scoring", unit="batch")
    for indices in batches:
        scored = [i for i in indices if len(rows[i]) > 1]
        if not scored:
            continue
        batch_sums, batch_counts = _score_batch(model, [rows[i] for i in scored], pad_id, device,
                                                options.precision)
        sums[scored], counts[scored] = batch_sums, batch_counts
    return sums, counts


def log_likelihoods(model, tokenizer, sequences: Sequence[str], options: LikelihoodOptions | None = None,
                    names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum of log p(token | <bos>, previous tokens) over each sequence's tokens (nats), and the token counts.

    Returns ``(sums, counts)``, each of shape ``(len(sequences),)`` in input order. Raises
    :class:`AlphabetError` when a sequence holds a character outside the tokenizer's alphabet.
    """
    check_causal_tokenizer(tokenizer)
    ids = encode(tokenizer, sequences, names)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return score_ids(model, ids, bos_id=tokenizer.bos_token_id, pad_id=pad, options=options)
