"""Scores under a masked LM (ESM-2, BERT, Nucleotide-Transformer style): masked marginals and pseudo-likelihoods.

Every quantity is ``log p(token | sequence with some positions replaced by <mask>)`` read at the masked
position with :func:`bioLM.model.modeling.token_log_probs` (the one log-likelihood function). Inputs carry the
model's own special tokens (:attr:`LoadedModel.prefix` / ``suffix``, e.g. ESM ``<cls> ... <eos>``); positions
below are 0-based token indices of the sequence *without* those special tokens.

Rules (named in every output as ``scoring``):

* ``masked-marginal`` (ESM-1v, ProteinGym): for each mutated token position ``i``, mask ``i`` alone in the wild
  type and take ``log p(mutant_i) - log p(wild_type_i)``; a multi-mutant sums over its positions.
* ``wildtype-marginal`` (ESM-1v's cheap variant): the same differences read from one unmasked pass over the
  wild type.
* ``masked-llr`` (GPN's variant score): mask the variant's token in the REF window, ``log p(alt) - log p(ref)``.
  It needs REF and ALT windows that differ in exactly one token (SNVs with per-base or k-mer tokens).
* ``pseudo-log-likelihood`` (Salazar et al. 2020): mask each token in turn and sum ``log p(true token)``;
  the variant score is PLL(ALT window) - PLL(REF window), which also covers indels (one pass per token).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from bioLM.errors import ConfigError
from bioLM.model.batching import collate, token_budget_batches
from bioLM.model.loading import LoadedModel
from bioLM.model.modeling import IGNORE_INDEX, token_log_probs

MASKED_RULES = ("masked-marginal", "wildtype-marginal", "masked-llr", "pseudo-log-likelihood")


def with_specials(loaded: LoadedModel, ids: np.ndarray) -> np.ndarray:
    """``prefix + ids + suffix`` as int64."""
    return np.concatenate([np.asarray(loaded.prefix, dtype=np.int64), np.asarray(ids, dtype=np.int64),
                           np.asarray(loaded.suffix, dtype=np.int64)])


def _read(at: torch.Tensor, targets: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Log-probabilities of ``targets[b]`` under the logits ``at`` (B, V), via :func:`token_log_probs`."""
    width = max((len(t) for t in targets), default=1)
    wanted = torch.full((len(targets), width), IGNORE_INDEX, dtype=torch.long)
    for row, tokens in enumerate(targets):
        wanted[row, :len(tokens)] = torch.as_tensor(list(tokens), dtype=torch.long)
    logp = token_log_probs(at[:, None, :].expand(-1, width, -1), wanted).double().cpu().numpy()  # (B, K)
    return [logp[row, :len(tokens)] for row, tokens in enumerate(targets)]


@torch.inference_mode()
def _logits(loaded: LoadedModel, rows: list[np.ndarray]) -> torch.Tensor:
    """Logits (B, T, V) of right-padded rows (special tokens included)."""
    batch = collate(rows, list(range(len(rows))), loaded.pad_id)
    with loaded.autocast():
        return loaded.model(input_ids=batch.input_ids.to(loaded.device),
                            attention_mask=batch.attention_mask.to(loaded.device)).logits


def masked_log_probs(loaded: LoadedModel, sequences: Sequence[np.ndarray], positions: Sequence[int],
                     targets: Sequence[Sequence[int]], max_tokens: int = 16384) -> list[np.ndarray]:
    """``log p(target | sequence with position masked)`` for each item, in nats.

    ``sequences[i]``: token ids without special tokens (shape ``(n_i,)``); ``positions[i]``: the 0-based token
    index to mask; ``targets[i]``: the token ids whose log-probabilities at that position are wanted. Returns
    one ``(len(targets[i]),)`` float64 array per item, in input order.
    """
    offset = len(loaded.prefix)
    rows = []
    for ids, position in zip(sequences, positions):
        row = with_specials(loaded, ids)
        row[offset + position] = loaded.mask_id
        rows.append(row)
    out: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for indices in token_budget_batches([len(r) for r in rows], max_tokens):
        logits = _logits(loaded, [rows[i] for i in indices])
        where = torch.as_tensor([offset + positions[i] for i in indices], device=logits.device)
        at = logits[torch.arange(len(indices), device=logits.device), where]  # (B, V)
        for i, values in zip(indices, _read(at, [targets[i] for i in indices])):
            out[i] = values
    return out


def marginal_scores(loaded: LoadedModel, wild_type: np.ndarray, mutants: Sequence[np.ndarray],
                    rule: str = "masked-marginal", max_tokens: int = 16384) -> np.ndarray:
    """Masked- or wild-type-marginal score of each mutant token array (same length as ``wild_type``).

    Shape ``(len(mutants),)``; 0 for a mutant equal to the wild type. Raises ValueError for a mutant whose
    token count differs from the wild type's (insertions and deletions have no marginal score).
    """
    needed: dict[int, set[int]] = {}
    for number, mutant in enumerate(mutants):
        if len(mutant) != len(wild_type):
            raise ValueError(f"mutant #{number + 1} has {len(mutant)} tokens, the wild type {len(wild_type)}: "
                             "marginal scores need substitutions only")
        for position in np.flatnonzero(mutant != wild_type).tolist():
            needed.setdefault(position, {int(wild_type[position])}).add(int(mutant[position]))
    order = sorted(needed)
    tokens = [sorted(needed[p]) for p in order]
    if rule == "wildtype-marginal":  # one unmasked pass over the wild type, read at every position
        if order:
            logits = _logits(loaded, [with_specials(loaded, wild_type)])[0]  # (T, V)
            values = _read(logits[torch.as_tensor(order) + len(loaded.prefix)], tokens)
        else:
            values = []
    else:
        values = masked_log_probs(loaded, [wild_type] * len(order), order, tokens, max_tokens)
    table = {(p, t): v for p, ts, row in zip(order, tokens, values) for t, v in zip(ts, row)}
    scores = np.zeros(len(mutants), dtype=np.float64)
    for number, mutant in enumerate(mutants):
        for position in np.flatnonzero(mutant != wild_type).tolist():
            scores[number] += table[(position, int(mutant[position]))] - table[(position, int(wild_type[position]))]
    return scores


def pseudo_log_likelihoods(loaded: LoadedModel, sequences: Sequence[np.ndarray],
                           max_tokens: int = 16384) -> np.ndarray:
    """PLL of each token array: sum over positions of ``log p(token_i | sequence with i masked)``; nats."""
    items, owners = [], []
    for number, ids in enumerate(sequences):
        for position in range(len(ids)):
            items.append((ids, position, [int(ids[position])]))
            owners.append(number)
    values = masked_log_probs(loaded, [i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
                              max_tokens)
    sums = np.zeros(len(sequences), dtype=np.float64)
    for owner, value in zip(owners, values):
        sums[owner] += float(value[0])
    return sums


CAUSAL_RULE = "log-likelihood-ratio"
"""Causal LMs: LL(mutant or ALT sequence) - LL(wild type or REF sequence), full sequence, nats."""
RULES = {"score-mutations": {"causal": (CAUSAL_RULE,), "masked": ("masked-marginal", "wildtype-marginal")},
         "score-variants": {"causal": (CAUSAL_RULE,), "masked": ("masked-llr", "pseudo-log-likelihood")}}


def resolve_rule(rule: str, kind: str, command: str) -> str:
    """The scoring rule of ``command`` for a model of ``kind``: ``auto`` picks the first (the field's default);
    a rule of the other kind, or an unknown one, is a ConfigError listing the valid ones."""
    valid = RULES[command][kind]
    if rule == "auto":
        return valid[0]
    if rule not in valid:
        every = sorted({r for rules in RULES[command].values() for r in rules})
        raise ConfigError(f"{command}: scoring={rule!r} does not apply to a {kind} LM; with this model choose "
                          f"one of {['auto', *valid]} (all rules: {every})")
    return rule
