"""Model cards (``README.md``) of exported models: what was trained, on what, how well, and how to load it.

Plain text functions of plain dicts (the recipe, the corpus manifest, the metrics), shared by the
pretraining export (:mod:`bioLM.training.export`) and fine-tuning (:mod:`bioLM.finetuning.finetune`). Wording
follows the alphabet: bits per *base* for DNA, bits per *residue* for protein. The licence is left for the
person who shares the weights to set (a comment in the metadata block says so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ALPHABET_TAGS = {"dna": ["dna", "genomics"], "rna": ["rna", "genomics"], "protein": ["protein", "proteomics"]}


def residue_unit(alphabet: str | None) -> str:
    """``"base"`` for DNA/RNA, ``"residue"`` for protein (the unit of bits per ... in every card)."""
    return "residue" if alphabet == "protein" else "base"


def front_matter(alphabet: str | None, tags: list[str], pipeline_tag: str) -> list[str]:
    """The YAML metadata block of a Hugging Face model card (licence deliberately not set)."""
    all_tags = ["biolm", *ALPHABET_TAGS.get(alphabet or "", []), *tags]
    return ["---", "library_name: transformers", f"pipeline_tag: {pipeline_tag}", f"tags: [{', '.join(all_tags)}]",
            "# license: set the licence of these weights (and check the licences of the training data) before "
            "sharing", "---", ""]


def _baseline(alphabet: str | None) -> str:
    if alphabet == "protein":
        return "log2(20) = 4.32 bits per residue is the uniform baseline over the 20 amino acids"
    return "2 bits per base is the uniform baseline over A/C/G/T"


def _fmt(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "not measured"


def shape_lines(model_config: dict[str, Any], preset: str | None, n_parameters: int | None) -> list[str]:
    """Bullets: preset name and the real shape (overrides included), from a BioLMConfig dict."""
    c = model_config
    params = f", {n_parameters:,} parameters" if n_parameters else ""
    return [
        f"- Architecture: decoder-only transformer, Llama layout (pre-norm RMSNorm eps {c.get('rms_norm_eps')}, "
        f"RoPE theta {c.get('rope_theta')}, {c.get('mlp', 'swiglu')} MLP){params}",
        f"- Shape: preset `{preset}` as trained: {c.get('n_layer')} layers, width {c.get('n_embd')}, "
        f"{c.get('n_head')} heads, MLP width {c.get('intermediate_size')}, context {c.get('block_size')} tokens, "
        f"vocabulary {c.get('tokenizer_vocab_size')} ids (embedding rows padded to {c.get('vocab_size')}; "
        f"tied input/output embeddings: {c.get('tie_word_embeddings')})",
    ]


def corpus_table(manifest: dict[str, Any]) -> list[str]:
    """Markdown table of the training files (path, bytes when the file is still there, records, bases,
    sha256) and the train/validation totals."""
    unit = residue_unit(manifest.get("tokenizer", {}).get("alphabet"))
    lines = [f"| file | bytes | records | {unit}s | sha256 |", "|---|---:|---:|---:|---|"]
    for source in manifest.get("sources", []):
        path = Path(source.get("path", ""))
        size = f"{path.stat().st_size:,}" if path.is_file() else "?"
        lines.append(f"| `{path.name}` | {size} | {source.get('records', 0):,} | {source.get('bases', 0):,} | "
                     f"`{source.get('sha256', '')}` |")
    splits = manifest.get("splits", {})
    lines += ["", ", ".join(f"{name}: {s.get('tokens', 0):,} tokens, {s.get('bases', 0):,} {unit}s, "
                            f"{s.get('records', 0):,} records" for name, s in splits.items()) or "no splits", ""]
    return lines


def usage_block(kind: str = "causal") -> list[str]:
    """Loading code that needs only ``transformers`` (no bioLM import)."""
    auto = "AutoModelForCausalLM" if kind == "causal" else "AutoModelForSequenceClassification"
    return ["```python", f"from transformers import {auto}, AutoTokenizer  # no bioLM needed",
            f"model = {auto}.from_pretrained(PATH)", "tokenizer = AutoTokenizer.from_pretrained(PATH)",
            "```", ""]


def pretrained_card(extras: dict[str, Any], step: int | None, model_config: dict[str, Any],
                    architecture: str, n_parameters: int | None = None) -> str:
    """Card of a pretrained causal LM: summary, shape, results, tokenizer, corpus, use, limits, recipe."""
    recipe, manifest, metrics = extras.get("recipe", {}), extras.get("manifest", {}), extras.get("metrics", {})
    tok = manifest.get("tokenizer", {})
    alphabet = tok.get("alphabet") or recipe.get("data", {}).get("alphabet", "dna")
    unit = residue_unit(alphabet)
    train = manifest.get("splits", {}).get("train", {})
    molecule = "protein" if alphabet == "protein" else alphabet.upper()
    lines = [
        *front_matter(alphabet, ["causal-lm", "llama" if architecture == "LlamaForCausalLM" else "biolm-gpt"],
                      "text-generation"),
        f"# bioLM {molecule} language model: {recipe.get('name', 'run')}", "",
        f"A next-token ({molecule}) language model (`{architecture}`) trained with bioLM for {step} optimizer "
        f"steps on {train.get('bases', 0):,} {unit}s. Next-token prediction is compression: the validation "
        f"bits per {unit} below is the model's code length for held-out sequence ({_baseline(alphabet)}; "
        "lower is better).", "",
        "## Results", "",
        f"- Final validation bits per {unit}: **{_fmt(metrics.get('val_bits_per_base'))}**",
        f"- Validation bits per token: {_fmt(metrics.get('val_bits_per_token'))}; validation loss (nats per "
        f"token): {_fmt(metrics.get('val_loss'))}", "",
        "## Model", "", *shape_lines(model_config, recipe.get("model", {}).get("preset"), n_parameters),
        f"- Tokenizer: {tok.get('kind')} (alphabet {alphabet}, k={tok.get('k')}, stride={tok.get('stride')}, "
        f"{tok.get('vocab_size')} ids, sha256 `{tok.get('sha256', '')}`); its bioLM identity and the "
        f"{unit}s each token spells are in `biolm.json`", "",
        "## Use", "", *usage_block("causal"),
        "With bioLM: `biolm embed`, `biolm bits`, `biolm score-variants` / `score-mutations`, `biolm generate`, "
        "`biolm compress` and `biolm finetune` (also `--lora`) take this directory as `--model`.", "",
        "## Intended use and limitations", "",
        f"- Intended for research: {unit}-level likelihoods, embeddings for downstream models, variant and "
        "mutation scoring, fine-tuning on labelled sequence tasks.",
        f"- The model knows only its training corpus ({len(manifest.get('sources', []))} file(s) listed below); "
        "scores on other species, assemblies or sequence types are out of distribution.",
        f"- Context is {model_config.get('block_size')} tokens; longer inputs must be windowed (bioLM does).",
        "- Likelihoods are not calibrated pathogenicity or fitness predictions; validate them on your task.", "",
        "## Training data", "", *corpus_table(manifest),
        "## Recipe", "", "```yaml", yaml.safe_dump(recipe, sort_keys=False).rstrip(), "```", "",
        "<details><summary>Corpus manifest (JSON)</summary>", "", "```json", json.dumps(manifest, indent=2),
        "```", "", "</details>", "",
    ]
    return "\n".join(lines)


def finetuned_card(summary: dict[str, Any], base_model: str, architecture: str, alphabet: str | None,
                   adapter: bool = False) -> str:
    """Card of a fine-tuned classifier/regressor (or its LoRA adapter): task, labels, metrics, how to load."""
    metrics = summary.get("metrics", {})
    rows = ["| split | " + " | ".join(sorted({k for m in metrics.values() for k in m})) + " |"]
    names = sorted({k for m in metrics.values() for k in m})
    rows.append("|---|" + "---:|" * len(names))
    rows += [f"| {split} | " + " | ".join(_fmt(m.get(n)) for n in names) + " |" for split, m in metrics.items()]
    labels = summary.get("labels") or ["y"]
    load = usage_block("classification") if not adapter else [
        "```python", "from peft import PeftModel", "from transformers import AutoModelForSequenceClassification",
        f"base = AutoModelForSequenceClassification.from_pretrained(BASE, num_labels={len(labels)}, "
        f"id2label={dict(enumerate(labels))!r})",
        "model = PeftModel.from_pretrained(base, PATH)  # the adapter: LoRA weights and the new head",
        f"# BASE: {base_model}", "```", ""]
    lines = [
        *front_matter(alphabet, ["text-classification" if summary.get("kind") == "classification"
                                 else "regression", *(["lora", "peft"] if adapter else [])], "text-classification"),
        f"# {summary.get('task')}: fine-tuned bioLM {'LoRA adapter' if adapter else 'model'}", "",
        f"`{architecture}` fine-tuned from `{base_model}` for {summary.get('kind')} "
        f"({summary.get('epochs')} epochs, best validation epoch {summary.get('best_epoch')}).", "",
        f"- Labels: {summary.get('labels')}", f"- Split sizes: {summary.get('sizes')}", "",
        "## Metrics (best validation epoch)", "", *rows, "", "## Use", "", *load,
        "## Training options", "", "```json", json.dumps(summary.get("config", {}), indent=2, default=str), "```",
        "", "## Limitations", "",
        "- Metrics hold for the task's own test split; other data may differ. The licence is yours to set.", "",
    ]
    return "\n".join(lines)
