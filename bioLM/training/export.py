"""``export_checkpoint``: a training checkpoint to a standard Hugging Face model directory.

The directory loads with plain ``transformers`` (no bioLM import): ``config.json`` + ``model.safetensors`` of a
``LlamaForCausalLM`` (``model_type: llama``, q/k/v and gate/up unfused, see :mod:`bioLM.model.llama`),
``tokenizer.json`` + ``tokenizer_config.json`` of a ``PreTrainedTokenizerFast``. What is bioLM's own sits in
plain files beside them: ``biolm.json`` (tokenizer identity, bases per token, the bioLM model config, the
corpus manifest, the recipe, final metrics), ``training_summary.json`` and the ``README.md`` model card.
A GELU-MLP model (no Llama equivalent) is written as bioLM's own ``model_type: biolm`` with a warning.

The checkpoint is read with ``torch.load(weights_only=True)``: tensors and plain types only, never arbitrary
pickled objects.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import torch

from bioLM import __version__
from bioLM.errors import InputFormatError, ModelDirectoryError

logger = logging.getLogger(__name__)

_BIOLM_FIELDS = ("vocab_size", "tokenizer_vocab_size", "n_layer", "n_head", "n_embd", "block_size", "mlp",
                 "intermediate_size", "rope_theta", "rms_norm_eps", "dropout", "bias", "tie_word_embeddings",
                 "initializer_range", "classifier_pooling", "pad_token_id", "bos_token_id", "eos_token_id")
"""The BioLMConfig fields kept in ``biolm.json`` (enough to rebuild bioLM's own class from the export)."""

SUMMARY_FILE = "training_summary.json"
"""Written beside the weights: final step, validation metrics and split sizes, for scripts to read."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a bioLM training checkpoint safely (``weights_only=True``); clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise ModelDirectoryError(f"{path}: checkpoint does not exist")
    try:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as error:  # a legacy (non-zip) file cannot be memory-mapped
            if "mmap" not in str(error):
                raise
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors come in many types
        first = (str(error).strip().splitlines() or [""])[0][:160]
        raise InputFormatError(f"cannot read checkpoint safely ({type(error).__name__}: {first}); only bioLM "
                               "training checkpoints (tensors and plain types) are loaded: it is corrupt, not a "
                               "checkpoint, or holds objects that could run code", path=path) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "biolm" not in checkpoint:
        raise InputFormatError("not a bioLM training checkpoint (no 'state_dict'/'biolm' entries)", path=path)
    return checkpoint


def checkpoint_model(checkpoint: dict[str, Any], path: str | Path):
    """The ``BioLMForCausalLM`` of a loaded training checkpoint (weights in, tied when configured)."""
    from bioLM.model import BioLMConfig, BioLMForCausalLM

    hparams = checkpoint.get("hyper_parameters", {})
    fields = BioLMConfig.__dataclass_fields__
    config = BioLMConfig(**{k: v for k, v in hparams["model_config"].items() if k in fields})
    model = BioLMForCausalLM(config)
    state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
    state = {k.replace("._orig_mod", ""): v for k, v in state.items()}  # torch.compile wrappers
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
    if missing or unexpected:
        raise InputFormatError(f"checkpoint weights do not match the model (missing {missing[:5]}, unexpected "
                               f"{unexpected[:5]})", path=path)
    if config.tie_word_embeddings:
        model.tie_weights()
    return model.eval()


def export_checkpoint(ckpt: str | Path, out_dir: str | Path) -> Path:
    """Write the model of checkpoint ``ckpt`` as a Hugging Face directory ``out_dir``; returns ``out_dir``.

    ``AutoModelForCausalLM.from_pretrained(out_dir)`` and ``AutoTokenizer.from_pretrained(out_dir)`` load it
    in any process (bioLM not needed); every bioLM command takes it as ``--model``.
    """
    from bioLM.tokenization import load_tokenizer

    checkpoint = load_checkpoint(ckpt)
    extras = checkpoint["biolm"]
    model = checkpoint_model(checkpoint, ckpt)
    files = {k: v for k, v in extras.get("tokenizer_files", {}).items() if k != "biolm_request.json"}
    if not files:
        raise InputFormatError("checkpoint has no tokenizer files (biolm.tokenizer_files)", path=ckpt)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        tokenizer = load_tokenizer(tmp)
        return export_model(model, tokenizer, out_dir, extras, checkpoint.get("global_step"))


def export_model(model, tokenizer, out_dir: str | Path, extras: dict[str, Any] | None = None,
                 step: int | None = None) -> Path:
    """Write a ``BioLMForCausalLM`` and its bioLM tokenizer as a standard directory ``out_dir`` (see the
    module docstring); ``extras`` (recipe, manifest, metrics) feed ``biolm.json`` and the model card."""
    extras = extras or {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    architecture = _save_weights(model, out_dir, tokenizer)
    tokenizer_info = _save_tokenizer(tokenizer, out_dir)
    config = {k: v for k, v in model.config.to_dict().items() if k in _BIOLM_FIELDS}
    _write_side_files(out_dir, extras, step, config, tokenizer_info)
    n_parameters = sum(p.numel() for p in model.parameters())
    (out_dir / "README.md").write_text(model_card(extras, step, config, architecture, n_parameters))
    return out_dir


def _save_weights(model, out_dir: Path, tokenizer) -> str:
    """Save as LlamaForCausalLM (or, for a GELU MLP, bioLM's own class); returns the architecture name.

    ``generation_config.json`` suppresses what ``biolm generate`` never samples (special tokens but <eos>, the
    padding rows of the vocabulary), so plain ``model.generate`` samples only real tokens too."""
    from bioLM.generation import suppressed_tokens
    from bioLM.model.llama import exportable_as_llama, to_llama

    for stale in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        (out_dir / stale).unlink(missing_ok=True)
    from transformers.utils import logging as hf_logging

    llama = exportable_as_llama(model.config)
    if not llama:
        logger.warning("mlp=%r has no Llama equivalent: %s is written as bioLM's own model type 'biolm', which "
                       "needs `import bioLM` to load", model.config.mlp, out_dir)
    out = to_llama(model) if llama else model
    out.generation_config.suppress_tokens = suppressed_tokens(tokenizer, model)
    hf_logging.disable_progress_bar()  # a one-shard "Writing model shards" bar only clutters training logs
    try:
        out.save_pretrained(out_dir, safe_serialization=True)
    finally:
        hf_logging.enable_progress_bar()
    return "LlamaForCausalLM" if llama else type(model).__name__


def _save_tokenizer(tokenizer, out_dir: Path) -> dict | None:
    """Write the tokenizer as plain-transformers files; returns its bioLM identity with bases per token."""
    from bioLM.tokenization import save_portable_tokenizer

    return save_portable_tokenizer(tokenizer, out_dir)


def _write_side_files(out_dir: Path, extras: dict[str, Any], step: int | None, model_config: dict[str, Any],
                      tokenizer_info: dict | None) -> None:
    from bioLM.tokenization import write_side_file

    metrics = extras.get("metrics", {})
    manifest = extras.get("manifest", {})
    write_side_file(out_dir, format_version=1, bioLM_version=__version__, tokenizer=tokenizer_info,
                    biolm_model_config=model_config, training={"step": step, "metrics": metrics},
                    corpus_manifest=manifest, recipe=extras.get("recipe", {}))
    summary = {"step": step, "metrics": metrics, "splits": manifest.get("splits", {}), "bioLM_version": __version__}
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, default=str))


def model_card(extras: dict[str, Any], step: int | None, model_config: dict[str, Any] | None = None,
               architecture: str = "LlamaForCausalLM", n_parameters: int | None = None) -> str:
    """Markdown model card: summary, shape, final validation metrics, tokenizer, corpus, recipe, limits."""
    from bioLM.model.card import pretrained_card

    config = model_config or extras.get("model_config", {})
    return pretrained_card(extras, step, config, architecture, n_parameters)
