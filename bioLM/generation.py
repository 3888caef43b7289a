"""Sequence generation with a causal LM: Hugging Face ``generate`` (KV cache), stop at ``<eos>``, seeded.

Every sequence starts from ``<bos>`` followed by the optional prompt (checked against the tokenizer's
alphabet). ``max_length`` counts generated tokens (residues for per-residue tokenizers), prompt excluded.
``temperature=0`` means greedy decoding. Each result reports its mean log-likelihood per token under the
model at temperature 1 (prompt and generated tokens, conditioned on ``<bos>``), so runs with different
sampling settings compare on the same scale.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bioLM.errors import ConfigError
from bioLM.io import Record, write_fasta
from bioLM.model.loading import load, model_context
from bioLM.scoring.likelihood import LikelihoodOptions, check_causal_tokenizer, encode, log_likelihoods

logger = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


@dataclass
class GenerateOptions:
    """Sampling settings of :func:`generate_sequences`."""

    n: int = 10
    """Number of sequences."""
    max_length: int = 500
    """Most tokens generated per sequence (prompt excluded); fewer when ``<eos>`` comes first."""
    prompt: str = ""
    """Sequence every generation continues (may be empty)."""
    temperature: float = 1.0
    """Softmax temperature; 0 is greedy decoding."""
    top_k: int = 0
    """Sample among the k most likely tokens (0: off)."""
    top_p: float = 1.0
    """Nucleus sampling: smallest set of tokens with probability mass >= top_p (1.0: off)."""
    seed: int = 0
    """Seed of torch's generator: same seed, same settings, same machine -> same sequences."""
    batch_size: int = 32
    """Sequences generated together."""
    id_prefix: str = "gen"
    """FASTA ids are ``{id_prefix}_{i}``, numbered from 1."""

    def __post_init__(self) -> None:
        problems = [(self.n < 1, f"n={self.n} must be >= 1"),
                    (self.max_length < 1, f"max_length={self.max_length} must be >= 1"),
                    (self.temperature < 0, f"temperature={self.temperature} must be >= 0"),
                    (self.top_k < 0, f"top_k={self.top_k} must be >= 0 (0: off)"),
                    (not 0 < self.top_p <= 1, f"top_p={self.top_p} must be in (0, 1]"),
                    (self.batch_size < 1, f"batch_size={self.batch_size} must be >= 1")]
        for bad, message in problems:
            if bad:
                raise ConfigError(message)

    def describe(self) -> str:
        """The settings as ``key=value`` words for FASTA descriptions."""
        return (f"temperature={self.temperature} top_k={self.top_k} top_p={self.top_p} seed={self.seed} "
                f"max_length={self.max_length} prompt={self.prompt or '-'}")


@dataclass
class GeneratedSequence:
    """One generated sequence (prompt included), its mean log-likelihood per token, and why it stopped."""

    id: str
    sequence: str
    mean_log_likelihood: float
    n_tokens: int
    stopped_at_eos: bool


def suppressed_tokens(tokenizer, model) -> list[int]:
    """Ids never to generate: special tokens other than <eos>, and the padding rows of the vocabulary
    (ids the tokenizer does not have, present because the model rounds its vocabulary up to a multiple of 64)."""
    keep = {tokenizer.eos_token_id}
    special = [i for i in tokenizer.all_special_ids if i not in keep]
    vocab = getattr(model.config, "vocab_size", len(tokenizer))
    return sorted(set(special) | set(range(len(tokenizer), vocab)))


def _sample(model, prefix: torch.Tensor, count: int, options: GenerateOptions, eos: int | None, pad: int,
            suppress: list[int]) -> list[tuple[list[int], bool]]:
    """``count`` continuations of ``prefix`` (1, T): token ids after the prefix (eos excluded) and eos flag."""
    sampling = options.temperature > 0
    kwargs = dict(do_sample=True, temperature=options.temperature, top_k=options.top_k,
                  top_p=options.top_p) if sampling else dict(do_sample=False)
    input_ids = prefix.expand(count, -1).to(next(model.parameters()).device)
    with torch.inference_mode():
        output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                max_new_tokens=options.max_length, eos_token_id=eos, pad_token_id=pad,
                                use_cache=True, suppress_tokens=suppress or None, **kwargs)
    results = []
    for row in output[:, prefix.shape[1]:].tolist():
        stopped = eos is not None and eos in row
        results.append((row[:row.index(eos)] if stopped else row, stopped))
    return results


def _decode(tokenizer, ids: list[int]) -> str:
    return _WHITESPACE.sub("", tokenizer.decode(ids, skip_special_tokens=True))


def generate_sequences(model, tokenizer, options: GenerateOptions | None = None) -> list[GeneratedSequence]:
    """Generate ``options.n`` sequences (see :class:`GenerateOptions`). Raises AlphabetError for a prompt with
    characters outside the tokenizer's alphabet, ConfigError when prompt + max_length exceed the context."""
    options = options or GenerateOptions()
    check_causal_tokenizer(tokenizer)
    prompt_ids = encode(tokenizer, [options.prompt], names=["prompt"])[0] if options.prompt else \
        np.zeros(0, dtype=np.int64)
    bos = tokenizer.bos_token_id
    prefix_ids = ([bos] if bos is not None else []) + prompt_ids.tolist()
    if not prefix_ids:
        raise ConfigError("the tokenizer has no <bos> token, so generation needs a non-empty prompt")
    context = model_context(model)
    if context is not None and len(prefix_ids) + options.max_length > context:
        raise ConfigError(f"prompt ({len(prefix_ids)} tokens with <bos>) + max_length={options.max_length} "
                          f"exceeds the model's context of {context} tokens; lower --max-length")
    prefix = torch.tensor([prefix_ids], dtype=torch.long)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    suppress = suppressed_tokens(tokenizer, model)
    torch.manual_seed(options.seed)
    samples: list[tuple[list[int], bool]] = []
    while len(samples) < options.n:
        count = min(options.batch_size, options.n - len(samples))
        samples += _sample(model, prefix, count, options, tokenizer.eos_token_id, pad, suppress)
    sequences = [_decode(tokenizer, prompt_ids.tolist() + ids) for ids, _ in samples]
    sums, counts = log_likelihoods(model, tokenizer, sequences, LikelihoodOptions())
    return [GeneratedSequence(f"{options.id_prefix}_{i + 1}", seq, float(s / c) if c else float("nan"),
                              int(c), stopped)
            for i, (seq, s, c, (_, stopped)) in enumerate(zip(sequences, sums, counts, samples))]


def write_generated(path: str | Path, sequences: list[GeneratedSequence], options: GenerateOptions,
                    model_dir: str | Path | None = None) -> int:
    """Write FASTA: ids numbered, the settings and each sequence's mean log-likelihood in the description."""
    model_word = f" model={model_dir}" if model_dir else ""
    records = [Record(s.id, f"mean_ll={s.mean_log_likelihood:.4f} length={len(s.sequence)} "
                      f"eos={'yes' if s.stopped_at_eos else 'no'} {options.describe()}{model_word}", s.sequence)
               for s in sequences]
    return write_fasta(path, records)


def generate(model_dir: str | Path, out: str | Path | None = None, options: GenerateOptions | None = None,
             device: str = "auto", precision: str = "auto", **settings) -> list[GeneratedSequence]:
    """Load ``model_dir``, generate (``settings`` are :class:`GenerateOptions` fields), write FASTA to ``out``.
    A masked LM is refused (ConfigError): it has no left-to-right distribution to sample from."""
    options = options or GenerateOptions(**settings)
    loaded = load(model_dir, device=device, precision=precision)
    loaded.require("causal", "generate")
    with loaded.autocast():
        sequences = generate_sequences(loaded.model, loaded.tokenizer, options)
    if out is not None:
        write_generated(out, sequences, options, model_dir)
    return sequences
