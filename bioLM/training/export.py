"""``export_checkpoint``: a training checkpoint to a Hugging Face model directory.

The directory holds ``config.json``, ``model.safetensors``, the tokenizer files and a ``README.md`` model card
with the corpus manifest, the recipe and the final validation bits per base. The checkpoint is read with
``torch.load(weights_only=True)``: tensors and plain types only, never arbitrary pickled objects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import yaml

from bioLM import __version__
from bioLM.errors import InputFormatError, ModelDirectoryError

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


def export_checkpoint(ckpt: str | Path, out_dir: str | Path) -> Path:
    """Write the model of checkpoint ``ckpt`` as a Hugging Face directory ``out_dir``; returns ``out_dir``.

    ``AutoModelForCausalLM.from_pretrained(out_dir)`` and ``AutoTokenizer.from_pretrained(out_dir)`` load it
    after ``import bioLM``.
    """
    from bioLM.model import BioLMConfig, BioLMForCausalLM

    checkpoint = load_checkpoint(ckpt)
    extras = checkpoint["biolm"]
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
                               f"{unexpected[:5]})", path=ckpt)
    if config.tie_word_embeddings:
        model.tie_weights()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    for name, text in extras.get("tokenizer_files", {}).items():
        (out_dir / name).write_text(text)
    (out_dir / "README.md").write_text(model_card(extras, checkpoint.get("global_step")))
    summary = {"step": checkpoint.get("global_step"), "metrics": extras.get("metrics", {}),
               "splits": extras.get("manifest", {}).get("splits", {}), "bioLM_version": __version__}
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, default=str))
    return out_dir


def model_card(extras: dict[str, Any], step: int | None) -> str:
    """Markdown model card: training summary, final validation metrics, recipe and corpus manifest."""
    recipe = extras.get("recipe", {})
    manifest = extras.get("manifest", {})
    metrics = extras.get("metrics", {})
    bpb = metrics.get("val_bits_per_base")
    splits = manifest.get("splits", {})
    tok = manifest.get("tokenizer", {})
    lines = [
        "---", "library_name: transformers", "tags: [biolm, dna, genomics, causal-lm]", "---", "",
        f"# bioLM model: {recipe.get('name', 'run')}", "",
        f"A decoder-only GPT trained with bioLM {__version__} for {step} optimizer steps.", "",
        f"- Final validation bits per base: **{bpb:.4f}**" if bpb is not None else
        "- Final validation bits per base: not measured",
        f"- Validation bits per token: {metrics.get('val_bits_per_token', float('nan')):.4f}",
        f"- Tokenizer: {tok.get('kind')} (alphabet {tok.get('alphabet')}, k={tok.get('k')}, "
        f"{tok.get('vocab_size')} ids, sha256 {str(tok.get('sha256', ''))[:16]}...)",
        f"- Corpus: {splits.get('train', {}).get('bases', 0):,} training bases, "
        f"{splits.get('val', {}).get('bases', 0):,} validation bases from "
        f"{len(manifest.get('sources', []))} file(s)", "",
        "```python", "import bioLM  # registers the 'biolm' model type",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "model = AutoModelForCausalLM.from_pretrained(PATH)", "tokenizer = AutoTokenizer.from_pretrained(PATH)",
        "```", "", "## Recipe", "", "```yaml", yaml.safe_dump(recipe, sort_keys=False).rstrip(), "```", "",
        "## Corpus manifest", "", "```json", json.dumps(manifest, indent=2), "```", "",
    ]
    return "\n".join(lines)
