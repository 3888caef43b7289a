"""``load(path)``: the one loader of a model directory (bioLM's, or any local Hugging Face causal / masked LM).

Every command that runs a model (``embed``, ``score-*``, ``bits``, ``compress``, ``generate``, ``finetune``,
``benchmark --model``) goes through :func:`load`, which returns a :class:`LoadedModel`: the model (eval mode, on
its device, fp32 weights), its tokenizer, its kind (``"causal"`` or ``"masked"``), its context length, the
special tokens put around a sequence, and the autocast to run it under. ``model, tokenizer = load(path)``
also works (a ``LoadedModel`` unpacks to that pair).

Rules, in one place:

* **Kind.** ``config.architectures`` decides (``*ForMaskedLM`` -> masked; ``*ForCausalLM`` / ``*LMHeadModel`` ->
  causal); without it, the Auto mappings (causal first). A directory with neither is an error.
* **Special tokens.** Causal: ``<bos>`` (the tokenizer's ``bos_token``) before the sequence when the tokenizer
  has one, nothing after (a window is not a whole record). Masked: what the tokenizer's own post-processor adds
  (ESM: ``<cls> ... <eos>``; BERT / NT: ``[CLS] ... [SEP]``), read from the tokenizer, never guessed.
* **No remote code.** Every ``from_pretrained`` passes ``trust_remote_code=False``. A directory whose config
  needs Python code shipped with it (``auto_map`` for a model type transformers does not know) is refused with
  :class:`~bioLM.errors.ModelDirectoryError`: bioLM never runs code from a model directory.
* **No unsafe unpickling.** Weights load from ``*.safetensors``; a directory with only ``pytorch_model.bin``
  is read with ``torch.load(weights_only=True)`` (tensors only), and a pickle that needs more is refused.
* **Device and precision.** ``device="auto"``: CUDA when available, else CPU. ``precision="auto"``: bf16
  autocast only where the hardware runs it natively (:mod:`bioLM.hardware`); weights stay fp32.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from transformers import (
    CONFIG_MAPPING,
    MODEL_FOR_CAUSAL_LM_MAPPING,
    MODEL_FOR_MASKED_LM_MAPPING,
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoTokenizer,
)

from bioLM.errors import ConfigError, ModelDirectoryError
from bioLM.hardware import autocast, autocast_dtype, resolve_device
from bioLM.tokenization import load_tokenizer

logger = logging.getLogger(__name__)

ModelKind = Literal["causal", "masked"]
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json")
_CONTEXT_ATTRIBUTES = ("max_position_embeddings", "n_positions", "block_size", "context_length", "n_ctx",
                       "max_seq_len")
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


@dataclass
class LoadedModel:
    """A model ready for inference, and everything a command needs to feed it.

    ``prefix`` / ``suffix``: token ids put before / after a sequence's own tokens (see the module docstring).
    ``autocast_dtype``: bf16 when the forward passes run under bf16 autocast, None for fp32.
    """

    model: torch.nn.Module
    tokenizer: object
    kind: ModelKind
    context: int | None
    device: torch.device
    autocast_dtype: torch.dtype | None
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    path: Path | None = None

    def __iter__(self) -> Iterator:
        """``model, tokenizer = load(path)``."""
        return iter((self.model, self.tokenizer))

    @property
    def precision(self) -> str:
        """``"bf16"`` or ``"fp32"``: the resolved precision of the forward passes."""
        return "bf16" if self.autocast_dtype is not None else "fp32"

    @property
    def pad_id(self) -> int:
        """Padding id (0 when the tokenizer has none; padded positions are masked or ignored)."""
        pad = getattr(self.tokenizer, "pad_token_id", None)
        return pad if pad is not None else 0

    @property
    def mask_id(self) -> int | None:
        return getattr(self.tokenizer, "mask_token_id", None)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context every forward pass of this model runs under."""
        return autocast(self.device, self.precision)

    def require(self, kind: ModelKind, command: str) -> None:
        """Raise :class:`ConfigError` when ``command`` cannot run on a model of this kind."""
        if self.kind != kind:
            why = ("it predicts masked positions from both sides, so it gives no left-to-right next-token "
                   "distribution" if self.kind == "masked" else "it has no masked-token head")
            raise ConfigError(f"{command} needs a {kind} language model; {self.path or 'the model'} is a "
                              f"{self.kind} LM ({type(self.model).__name__}): {why}")


def model_context(model: torch.nn.Module, tokenizer=None) -> int | None:
    """The longest input (tokens, special tokens included) the model accepts; None when nothing says."""
    config = getattr(model, "config", None)
    for name in _CONTEXT_ATTRIBUTES:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 10**9:
        return limit
    return None


def hidden_states_model(model: torch.nn.Module) -> torch.nn.Module:
    """The part of ``model`` that returns hidden states without the LM head (``model.base_model`` for HF)."""
    base = getattr(model, "base_model", None)
    return base if isinstance(base, torch.nn.Module) else model


def _check_directory(path: Path) -> dict:
    """The parsed config.json of a model directory; errors say what is missing."""
    if not path.exists():
        raise ModelDirectoryError(
            f"model directory {str(path)!r} does not exist; give the directory written by `biolm export` "
            "(or any Hugging Face save_pretrained directory); hub names are not fetched (no network)")
    if not path.is_dir():
        raise ModelDirectoryError(f"{str(path)!r} is a file, not a model directory; give the directory that "
                                  "holds config.json, the model weights and the tokenizer")
    if not (path / "config.json").is_file():
        present = sorted(p.name for p in path.iterdir())[:10]
        raise ModelDirectoryError(
            f"{str(path)!r} is not a bioLM/Hugging Face model directory: it has no config.json "
            f"(found: {present}); export a trained model with `biolm export` or pass the right directory")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelDirectoryError(
            f"{str(path)!r} has a model but no tokenizer (expected tokenizer.json and tokenizer_config.json, or "
            "vocab.txt); save the tokenizer into the model directory (tokenizer.save_pretrained(dir))")
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelDirectoryError(f"{path / 'config.json'}: not a readable JSON model config ({error})") from None
    if not isinstance(config, dict):
        raise ModelDirectoryError(f"{path / 'config.json'}: not a JSON object")
    return config


def _check_weights(path: Path) -> None:
    if not any(any(path.glob(pattern)) for pattern in _WEIGHT_FILES):
        raise ModelDirectoryError(f"{str(path)!r}: no model weights (expected model.safetensors, or "
                                  "pytorch_model.bin) next to config.json")


def _check_no_remote_code(path: Path, config: dict) -> None:
    model_type = config.get("model_type")
    if model_type in CONFIG_MAPPING:
        return
    if "auto_map" in config:
        raise ModelDirectoryError(
            f"{str(path)!r}: model type {model_type!r} needs Python code shipped in the model directory "
            f"(config.json auto_map: {sorted(config['auto_map'])}); bioLM never runs code from a model "
            "directory (trust_remote_code is off). Use a model whose architecture transformers ships "
            "(Llama, GPT-2, GPT-NeoX, Mistral, ESM, BERT, ...) or convert it to one")
    raise ModelDirectoryError(f"{str(path)!r}: config.json is not a bioLM/Hugging Face model config (model type "
                              f"{model_type!r} is unknown); use a model exported by `biolm export` or saved by "
                              "transformers")


def model_kind(config) -> ModelKind:
    """``"causal"`` or ``"masked"`` for a model config (see the module docstring); raises ModelDirectoryError."""
    for name in getattr(config, "architectures", None) or []:
        if name.endswith("ForMaskedLM"):
            return "masked"
        if name.endswith(("ForCausalLM", "LMHeadModel")):
            return "causal"
    if type(config) in MODEL_FOR_CAUSAL_LM_MAPPING and not getattr(config, "is_encoder_decoder", False):
        return "causal"
    if type(config) in MODEL_FOR_MASKED_LM_MAPPING:
        return "masked"
    raise ModelDirectoryError(f"model type {config.model_type!r} has no causal or masked language-model head; "
                              "bioLM runs causal LMs (GPT-2, Llama, bioLM, ...) and masked LMs (ESM, BERT, ...)")


def load_weights(directory: ModelDirectory, auto=None, **config_overrides) -> torch.nn.Module:
    """The model of a checked :class:`ModelDirectory`, fp32, through ``auto`` (default: the causal or masked LM
    class of its kind; ``finetune`` passes ``AutoModelForSequenceClassification`` and the head's settings as
    ``config_overrides``). Safe: no remote code, pickles read with ``weights_only=True``."""
    path = directory.path
    if auto is None:
        auto = AutoModelForCausalLM if directory.kind == "causal" else AutoModelForMaskedLM
    config = config_overrides or {"config": directory.config}  # with overrides HF reads config.json itself
    try:
        return auto.from_pretrained(path, trust_remote_code=False, weights_only=True, dtype=torch.float32, **config)
    except (pickle.UnpicklingError, EOFError) as error:
        raise ModelDirectoryError(
            f"{str(path)!r}: the pickled weights (pytorch_model.bin) hold more than tensors and are not "
            f"loaded (unpickling them could run code: {str(error).splitlines()[0][:160]}); convert them to "
            "model.safetensors with a tool you trust") from None
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        message = str(error).splitlines()[0][:300]
        if "weights_only" in str(error) or "Unpickler" in str(error):
            raise ModelDirectoryError(
                f"{str(path)!r}: pytorch_model.bin is a pickle that needs more than tensors, refused "
                "(unpickling could run code); convert the weights to model.safetensors") from None
        raise ModelDirectoryError(f"{str(path)!r}: cannot load the model weights ({message})") from None


def _load_tokenizer(path: Path):
    """The directory's tokenizer; a bioLM one (``tokenizer.json`` + ``biolm.json``) with its bioLM identity."""
    try:
        if (path / "tokenizer.json").is_file():
            return load_tokenizer(path)
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except (ValueError, OSError, KeyError, TypeError, AttributeError) as error:
        raise ModelDirectoryError(f"{str(path)!r}: cannot load the tokenizer ({str(error).splitlines()[0]}); "
                                  "the directory needs the tokenizer files the model was trained with") from None


def special_tokens(tokenizer, kind: ModelKind) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(prefix, suffix)`` ids around a sequence: ``<bos>`` for causal models (when the tokenizer has one),
    the tokenizer's own special tokens for masked models (found by encoding one token with and without them)."""
    if kind == "causal":
        bos = getattr(tokenizer, "bos_token_id", None)
        return ((bos,) if bos is not None else ()), ()
    probe = tokenizer("A", add_special_tokens=False)["input_ids"]
    full = tokenizer("A", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(probe) + 1):
        if probe and full[start:start + len(probe)] == probe:
            return tuple(full[:start]), tuple(full[start + len(probe):])
    return (), ()


@dataclass
class ModelDirectory:
    """A checked model directory before its weights are read: config, kind, tokenizer, special tokens."""

    path: Path
    config: object
    kind: ModelKind
    tokenizer: object
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]


def open_directory(path: str | Path) -> ModelDirectory:
    """Every check of :func:`load` except reading the weights (see the module docstring)."""
    import bioLM.model  # noqa: F401  (registers bioLM's classes with the Auto classes)

    path = Path(path).expanduser()
    raw = _check_directory(path)
    _check_no_remote_code(path, raw)
    _check_weights(path)
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    except (ValueError, KeyError, OSError, TypeError) as error:
        raise ModelDirectoryError(f"{str(path)!r}: config.json is not a usable model config "
                                  f"({str(error).splitlines()[0]})") from None
    kind = model_kind(config)
    tokenizer = _load_tokenizer(path)
    return ModelDirectory(path, config, kind, tokenizer, *special_tokens(tokenizer, kind))


def load(path: str | Path, *, device: str | torch.device = "auto", precision: str = "auto") -> LoadedModel:
    """Load the model directory ``path`` (see the module docstring for every rule).

    ``device``: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``; ``precision``: ``auto`` | ``bf16`` | ``fp32``.
    Raises :class:`ModelDirectoryError` for a directory that is missing, incomplete, needs remote code or
    holds unsafe pickled weights, and :class:`ConfigError` for a bad device or precision.
    """
    target = resolve_device(device)
    dtype = autocast_dtype(precision, target)
    directory = open_directory(path)
    model = load_weights(directory).to(target).eval()
    logger.info("loaded %s (%s LM, %s) on %s, %s", directory.path, directory.kind, type(model).__name__, target,
                "bf16 autocast" if dtype is not None else "fp32")
    return LoadedModel(model, directory.tokenizer, directory.kind, model_context(model, directory.tokenizer),
                       target, dtype, directory.prefix, directory.suffix, directory.path)
