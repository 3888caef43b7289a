"""``embed()``: hidden states of a bioLM (or HF) model for a list of sequences, pooled or per token / per base.

Speed: token ids are made by the fast (Rust) tokenizer, items are batched by token budget after sorting by
length (little padding), the forward pass runs under ``torch.inference_mode`` with bf16 autocast on GPU, and
vector poolings are done on the device. Results come back in input order whatever the sorting.

Shapes returned, for ``N`` sequences and hidden size ``H``, keyed by each requested layer as given (``-1``
stays ``-1``; ``"all"`` gives keys ``0..n_layers``, 0 being the embedding layer's output):

* ``mean`` / ``max`` / ``last`` / ``first``: ``np.ndarray`` ``(N, H)`` float32;
* ``per-token``: a list of ``N`` arrays ``(T_i, H)``, ``T_i`` the number of tokens of sequence ``i``
  (``<bos>`` excluded);
* ``per-base``: a list of ``N`` arrays ``(L_i, H)``, ``L_i = len(sequence_i)``; each base gets the state of
  the token that covers it (tokenizer offsets; the mean of the covering tokens for overlapping k-mers).

Sequences longer than the context are windowed only when ``window_overlap`` is given (see
:mod:`bioLM.embedding.windows`); otherwise they raise an error that says so. With
``reverse_complement_average`` (DNA) each sequence is embedded on both strands and the two are averaged
(per-base: base ``i`` of the forward strand with base ``L-1-i`` of the reverse strand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from bioLM.alphabet import reverse_complement
from bioLM.embedding.pooling import VECTOR_POOLINGS, check_pooling, pool, pool_tokens
from bioLM.embedding.windows import WindowAggregator, WindowMean, window_starts
from bioLM.errors import ConfigError, InputFormatError, ModelDirectoryError
from bioLM.hardware import autocast
from bioLM.model.batching import DEFAULT_MAX_PADDING, collate, token_budget_batches
from bioLM.model.loading import hidden_states_model, model_context, model_kind, special_tokens
from bioLM.tokenization import encode_sequence, encode_with_offsets, is_biolm_tokenizer, tokens_to_bases

LayerSpec = Sequence[int] | str


@dataclass
class EmbedOptions:
    """How to run the model (everything except what to embed)."""

    max_tokens: int = 16384
    """Token budget of one batch: batch size x longest item (padding included)."""
    max_batch_size: int | None = None
    """Optional cap on the number of items in a batch."""
    max_padding: float = DEFAULT_MAX_PADDING
    """No item is padded by more than this fraction of its batch's longest item (sorted batching)."""
    window_overlap: int | None = None
    """Tokens shared by consecutive windows of a long sequence; None: no windowing (a too-long sequence is an error)."""
    reverse_complement_average: bool = False
    """Average the embeddings of both strands (DNA only)."""
    precision: str = "auto"
    """'bf16' (autocast), 'fp32', or 'auto' (bf16 where the hardware has it: CUDA, AMX CPUs; see bioLM.hardware)."""
    add_bos: bool = True
    """Put the model's special tokens around every item (causal: ``<bos>`` when the tokenizer has one, as in
    pretraining; masked: the tokenizer's own, e.g. ESM ``<cls> ... <eos>``). They are never part of the output."""
    progress: bool = False
    """Show a tqdm progress bar over batches."""
    sort: bool = True
    """Sort items by length before batching (set False only to measure its effect)."""


@dataclass
class _Item:
    seq: int  # index of the sequence
    start: int  # first token of the window in the sequence
    ids: np.ndarray  # token ids of the window, <bos> included when used


@dataclass
class _Pending:
    windows_left: int
    aggregators: dict[int, WindowAggregator] = field(default_factory=dict)
    bos: dict[int, np.ndarray] = field(default_factory=dict)


def resolve_layers(layers: LayerSpec, n_states: int) -> list[tuple[int, int]]:
    """Pairs ``(key, index into hidden_states)`` for ``layers`` (ints, negative allowed, or ``"all"``)."""
    if isinstance(layers, str):
        if layers != "all":
            raise ConfigError(f"layers={layers!r}: give a list of layer indices (e.g. [-1, -2]) or 'all'")
        return [(i, i) for i in range(n_states)]
    pairs = []
    for layer in layers:
        if not -n_states <= int(layer) < n_states:
            raise ConfigError(f"layer {layer} does not exist: the model has {n_states} hidden states "
                              f"(valid: {-n_states}..{n_states - 1}, 0 = embedding layer output)")
        pairs.append((int(layer), int(layer) % n_states))
    return pairs


def _is_bioLM_tokenizer(tokenizer) -> bool:
    return is_biolm_tokenizer(tokenizer)


def _tokenize(tokenizer, sequences: Sequence[str], offsets: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Token ids (no special tokens) and, when asked, ``(T, 2)`` base offsets of each sequence.

    bioLM tokenizers use their numpy fast path (:mod:`bioLM.tokenization`); other HF tokenizers their own call.
    """
    if _is_bioLM_tokenizer(tokenizer):
        if offsets:
            pairs = [encode_with_offsets(tokenizer, s) for s in sequences]
            return [p[0].astype(np.int64) for p in pairs], [p[1] for p in pairs]
        return [encode_sequence(tokenizer, s).astype(np.int64) for s in sequences], []
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoded = tokenizer(list(sequences), add_special_tokens=False, return_offsets_mapping=offsets and fast,
                        return_attention_mask=False, return_token_type_ids=False)
    ids = [np.asarray(x, dtype=np.int64) for x in encoded["input_ids"]]
    if not offsets:
        return ids, []
    if fast:
        return ids, [np.asarray(x, dtype=np.int64).reshape(-1, 2) for x in encoded["offset_mapping"]]
    return ids, [_spans_from_tokens(tokenizer, x) for x in ids]  # slow tokenizers (ESM): from the token texts


def _spans_from_tokens(tokenizer, ids: np.ndarray) -> np.ndarray:
    """``(T, 2)`` base offsets of consecutive tokens, from their lengths (an unknown token covers one letter)."""
    unk = tokenizer.unk_token_id
    lengths = [1 if i == unk else len(t) for i, t in zip(ids.tolist(), tokenizer.convert_ids_to_tokens(ids.tolist()))]
    ends = np.cumsum(lengths, dtype=np.int64)
    return np.stack([ends - np.asarray(lengths, dtype=np.int64), ends], axis=1).reshape(-1, 2)


def _plan(ids: list[np.ndarray], names: Sequence[str], context: int, prefix: tuple[int, ...],
          suffix: tuple[int, ...], overlap: int | None) -> list[_Item]:
    """Cut every sequence into items of at most ``context`` tokens (special tokens included)."""
    window = context - len(prefix) - len(suffix)
    head = np.asarray(prefix, dtype=np.int64)
    tail = np.asarray(suffix, dtype=np.int64)
    items = []
    for i, seq_ids in enumerate(ids):
        if len(seq_ids) == 0:
            raise InputFormatError("empty sequence: nothing to embed; remove it from the input", record=names[i])
        if len(seq_ids) > window and overlap is None:
            raise InputFormatError(
                f"sequence has {len(seq_ids)} tokens but the model's context holds {window} "
                f"(plus its special tokens); embed it in overlapping windows with --window-overlap N "
                f"(Python: window_overlap=N, e.g. {max(window // 8, 1)}); bioLM never truncates silently",
                record=names[i])
        for start in window_starts(len(seq_ids), window, overlap or 0):
            items.append(_Item(i, start, np.concatenate([head, seq_ids[start:start + window], tail])))
    return items


def is_causal_model(model) -> bool:
    """True for decoder-only models (bioLM's GPT, any ``*ForCausalLM``): right padding cannot reach real tokens."""
    try:
        return model_kind(model.config) == "causal"
    except (ModelDirectoryError, AttributeError):
        return False


def _forward(model, batch, device, precision: str, causal: bool) -> tuple[torch.Tensor, ...]:
    """Hidden states of a right-padded batch. A causal model gets no attention mask: padding comes after every
    real token so it cannot change them, and the unmasked causal path is the fast (flash) one."""
    mask = None if causal else batch.attention_mask.to(device)
    with autocast(device, precision):
        output = model(input_ids=batch.input_ids.to(device), attention_mask=mask, output_hidden_states=True,
                       use_cache=False)
    return output.hidden_states


class _Collector:
    """Gathers per-token states of windows into sequences and pools them when a sequence is complete."""

    def __init__(self, items: list[_Item], seq_tokens: list[int], pooling: str, has_bos: bool,
                 n_suffix: int = 0) -> None:
        self.items, self.seq_tokens, self.pooling, self.has_bos = items, seq_tokens, pooling, has_bos
        self.n_suffix = n_suffix
        self.windows_left = np.bincount([it.seq for it in items], minlength=len(seq_tokens))
        self.single = self.windows_left == 1
        self.spans: dict[int, list[tuple[int, int]]] = {}  # windows of the windowed sequences
        for it in items:
            if not self.single[it.seq]:
                self.spans.setdefault(it.seq, []).append((it.start, len(it.ids) - int(has_bos) - n_suffix))
        self.pending: dict[int, _Pending] = {}
        self.results: dict[int, list] = {}

    def start(self, keys: list[int]) -> None:
        self.results = {key: [None] * len(self.seq_tokens) for key in keys}

    def put_pooled(self, item: _Item, key: int, vector: np.ndarray) -> None:
        self.results[key][item.seq] = vector

    def put_tokens(self, item: _Item, states: dict[int, np.ndarray]) -> None:
        """``states[key]`` is ``(length, H)`` for this item, special tokens included when used."""
        state = self.pending.setdefault(item.seq, _Pending(int(self.windows_left[item.seq])))
        first = int(self.has_bos)
        for key, array in states.items():
            array = array[:len(array) - self.n_suffix] if self.n_suffix else array
            if key not in state.aggregators:
                state.aggregators[key] = WindowMean(self.spans[item.seq], array.shape[1]) \
                    if self.pooling == "mean" and item.seq in self.spans \
                    else WindowAggregator(self.seq_tokens[item.seq], array.shape[1])
            state.aggregators[key].add(item.start, array[first:])
            if self.has_bos and item.start == 0:
                state.bos[key] = array[0]
        state.windows_left -= 1
        if state.windows_left == 0:
            for key, aggregator in state.aggregators.items():
                tokens = aggregator.result()
                if isinstance(aggregator, WindowMean) or self.pooling not in VECTOR_POOLINGS:
                    self.results[key][item.seq] = tokens  # already the mean, or per-token states
                else:
                    self.results[key][item.seq] = pool_tokens(tokens, self.pooling, state.bos.get(key))
            del self.pending[item.seq]


def _run(model, items: list[_Item], seq_tokens: list[int], layers: LayerSpec, pooling: str, pad_id: int,
         has_bos: bool, options: EmbedOptions, n_suffix: int = 0) -> dict[int, list]:
    """Embed ``items``; per layer key, a list indexed by sequence of pooled ``(H,)`` or per-token ``(T, H)``."""
    device = next(model.parameters()).device
    base = hidden_states_model(model)
    causal = is_causal_model(model)
    collector = _Collector(items, seq_tokens, pooling, has_bos, n_suffix)
    pairs: list[tuple[int, int]] = []
    sequences = [it.ids for it in items]
    batches = token_budget_batches([len(s) for s in sequences], options.max_tokens, options.max_batch_size,
                                   options.sort, options.max_padding)
    for indices in tqdm(batches, desc="embed", unit="batch", leave=False, disable=not options.progress):
        batch = collate(sequences, indices, pad_id)
        lengths = batch.attention_mask.sum(1).tolist()
        with torch.inference_mode():
            states = _forward(base, batch, device, options.precision, causal)
            if not pairs:
                pairs = resolve_layers(layers, len(states))
                collector.start([key for key, _ in pairs])
            direct = [r for r, i in enumerate(indices) if collector.single[items[i].seq]] \
                if pooling in VECTOR_POOLINGS else []
            done = set(direct)
            rest = [r for r in range(len(indices)) if r not in done]
            if direct:
                content = batch.attention_mask[direct].to(device).bool()
                if has_bos:
                    content[:, 0] = False
                for k in range(1, n_suffix + 1):  # trailing special tokens (<eos>, [SEP]) of each row
                    content[torch.arange(len(direct)), torch.as_tensor([lengths[r] - k for r in direct])] = False
                for key, index in pairs:
                    pooled = pool(states[index][direct], content, pooling, has_bos).cpu().numpy()
                    for row, vector in zip(direct, pooled):
                        collector.put_pooled(items[indices[row]], key, vector)
            cpu = {key: states[index][rest].float().cpu().numpy() for key, index in pairs} if rest else {}
        for j, row in enumerate(rest):
            collector.put_tokens(items[indices[row]], {key: a[j, :lengths[row]] for key, a in cpu.items()})
    return collector.results


def _combine_strands(forward: list, reverse: list, pooling: str) -> list:
    if pooling == "per-base":
        return [(f + r[::-1]) / 2 for f, r in zip(forward, reverse)]
    return [(f + r) / 2 for f, r in zip(forward, reverse)]


def embed(sequences: Sequence[str], model, tokenizer, layers: LayerSpec = (-1,), pooling: str = "mean",
          *, ids: Sequence[str] | None = None, options: EmbedOptions | None = None,
          **option_overrides) -> dict[int, np.ndarray | list[np.ndarray]]:
    """Embed ``sequences`` with ``model``; see the module docstring for the shapes returned per layer key.

    ``ids`` (default ``seq0``, ``seq1``, ...) only serve error messages. Options are an :class:`EmbedOptions`
    or its fields as keywords (``window_overlap=64``, ``max_tokens=8192``, ``reverse_complement_average=True``).
    """
    options = options or EmbedOptions()
    if option_overrides:
        options = EmbedOptions(**{**options.__dict__, **option_overrides})
    pooling = check_pooling(pooling)
    if options.reverse_complement_average and pooling == "per-token":
        raise ConfigError("reverse_complement_average needs aligned positions: use pooling='per-base' "
                          "(or a pooled vector) instead of 'per-token'")
    sequences = list(sequences)
    names = list(ids) if ids is not None else [f"seq{i}" for i in range(len(sequences))]
    if options.reverse_complement_average:
        sequences = sequences + [reverse_complement(s) for s in sequences]
        names = names + [f"{n} (reverse complement)" for n in names]
    token_ids, offsets = _tokenize(tokenizer, sequences, pooling == "per-base")
    kind = "causal" if is_causal_model(model) else "masked"
    prefix, suffix = special_tokens(tokenizer, kind) if options.add_bos else ((), ())
    if len(prefix) > 1:
        raise ConfigError(f"the tokenizer puts {len(prefix)} special tokens before a sequence; bioLM embeds "
                          "with at most one (<bos> / <cls>)")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    context = model_context(model, tokenizer)
    if context is None:
        raise ModelDirectoryError("cannot tell the model's context length from its config or tokenizer")
    items = _plan(token_ids, names, context, prefix, suffix, options.window_overlap)
    if not sequences:
        return {}
    results = _run(model, items, [len(t) for t in token_ids], layers, pooling, pad, bool(prefix), options,
                   len(suffix))
    if pooling == "per-base":
        results = {key: [tokens_to_bases(t, o, len(s)) for t, o, s in zip(values, offsets, sequences)]
                   for key, values in results.items()}
    if options.reverse_complement_average:
        n = len(sequences) // 2
        results = {key: _combine_strands(v[:n], v[n:], pooling) for key, v in results.items()}
    if pooling in VECTOR_POOLINGS:
        return {key: np.stack(values).astype(np.float32, copy=False) for key, values in results.items()}
    return results
