"""The one tokenizer resolution of ``biolm prepare`` and ``biolm pretrain``: a saved directory, or a kind built
from options (BPE: trained on the corpus files), optionally cached so re-runs keep the same identity."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bioLM.data.prepare import expand_inputs
from bioLM.errors import ConfigError
from bioLM.tokenization import KINDS, build_tokenizer, load_tokenizer


def resolve_tokenizer(source: str | Path, *, alphabet: str = "dna", k: int = 6, stride: int | None = None,
                      vocab_size: int = 4096, inputs: Sequence[str | Path] = (), cache_dir: Path | None = None,
                      option: str = "--tokenizer"):
    """A ``PreTrainedTokenizerFast``: loaded from ``source`` when it is a directory, else built as kind ``source``
    (``char``, ``kmer``, ``bpe``; a ``bpe`` is trained on the FASTA files of ``inputs``). With ``cache_dir`` a
    built tokenizer is saved there with the request, and reused while the request is the same. ``option`` names
    the setting in the error message for an unknown kind (``--tokenizer``, ``data.tokenizer``)."""
    if Path(source).is_dir():
        return load_tokenizer(source)
    if source not in KINDS:
        raise ConfigError(f"{option}={str(source)!r} is neither a tokenizer kind ({', '.join(KINDS)}) nor "
                          "an existing tokenizer directory")
    request = {"kind": source, "alphabet": alphabet, "k": k, "stride": stride, "vocab_size": vocab_size}
    stamp = cache_dir / "biolm_request.json" if cache_dir is not None else None
    if stamp is not None and stamp.is_file() and json.loads(stamp.read_text()) == request:
        return load_tokenizer(cache_dir)
    files = [str(p) for p in expand_inputs(inputs)] if source == "bpe" else None
    tokenizer = build_tokenizer(source, alphabet=alphabet, k=k, stride=stride, vocab_size=vocab_size, files=files)
    if stamp is not None:
        tokenizer.save_pretrained(cache_dir)
        stamp.write_text(json.dumps(request))
    return tokenizer
