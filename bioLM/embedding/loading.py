"""``load(path)``: the model and its tokenizer from an exported bioLM (or any local Hugging Face) directory."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import torch

from bioLM.errors import ModelDirectoryError

logger = logging.getLogger(__name__)

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json")
_CONTEXT_ATTRIBUTES = ("max_position_embeddings", "n_positions", "block_size", "context_length", "n_ctx",
                       "max_seq_len")


def _register_bioLM() -> None:
    """Import the bioLM packages that register the model and tokenizer classes with the Auto classes."""
    for name in ("bioLM.model", "bioLM.tokenization"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - a partial install
            logger.debug("could not import %s", name)


def _check_directory(path: Path) -> None:
    if not path.exists():
        raise ModelDirectoryError(
            f"model directory {str(path)!r} does not exist; give the directory written by `biolm export` "
            "(config.json, model weights and tokenizer files); hub names are not fetched (no network)")
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
            f"{str(path)!r} has a model but no tokenizer (expected tokenizer.json and tokenizer_config.json); "
            "save the tokenizer into the model directory (tokenizer.save_pretrained(dir))")


def _load_model(path: Path) -> torch.nn.Module:
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(path)
    except (ValueError, KeyError, OSError) as error:
        raise ModelDirectoryError(f"{str(path)!r}: config.json is not a bioLM/Hugging Face model config "
                                  f"({error}); export the model with `biolm export`") from error
    for auto in (AutoModelForCausalLM, AutoModel):
        try:
            return auto.from_pretrained(path, config=config)
        except ValueError:  # the config's model type has no class of this kind
            continue
        except OSError as error:
            raise ModelDirectoryError(f"{str(path)!r}: cannot read the model weights ({error}); the directory "
                                      "needs model.safetensors (or pytorch_model.bin) next to config.json") from error
    raise ModelDirectoryError(f"{str(path)!r}: model type {config.model_type!r} is not a bioLM/Hugging Face model "
                              "class that can be loaded; use a model exported by `biolm export`")


def _load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        if (path / "tokenizer.json").is_file():
            from bioLM.tokenization import load_tokenizer

            return load_tokenizer(path)
        return AutoTokenizer.from_pretrained(str(path))
    except (ValueError, OSError, KeyError) as error:
        raise ModelDirectoryError(f"{str(path)!r}: cannot load the tokenizer ({error}); the directory needs the "
                                  "tokenizer.json and tokenizer_config.json that the model was trained with") from error


def load(name_or_path: str | Path, device: str | torch.device | None = None):
    """Load ``(model, tokenizer)`` from a local exported model directory, ready for inference.

    The model is put in eval mode on ``device`` (default: CUDA when available, else CPU). Raises
    :class:`ModelDirectoryError` when the directory is missing or does not hold a bioLM/HF model and tokenizer.
    """
    path = Path(name_or_path).expanduser()
    _check_directory(path)
    _register_bioLM()
    model = _load_model(path)
    tokenizer = _load_tokenizer(path)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    return model, tokenizer


def model_context(model: torch.nn.Module, tokenizer=None) -> int:
    """The longest input (in tokens, special tokens included) the model accepts."""
    config = getattr(model, "config", None)
    for name in _CONTEXT_ATTRIBUTES:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 10**9:
        return limit
    raise ModelDirectoryError("cannot tell the model's context length from its config "
                              f"(looked for {list(_CONTEXT_ATTRIBUTES)})")


def hidden_states_model(model: torch.nn.Module) -> torch.nn.Module:
    """The part of ``model`` that returns hidden states without the LM head (``model.base_model`` for HF)."""
    base = getattr(model, "base_model", None)
    return base if isinstance(base, torch.nn.Module) else model
