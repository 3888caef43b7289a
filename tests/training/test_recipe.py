"""Recipes: typed sections, YAML + overrides, unknown keys named with the valid ones; shipped recipes load."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import REPO_ROOT

from bioLM.errors import ConfigError
from bioLM.training.recipe import Recipe

RECIPES = sorted((REPO_ROOT / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipes_load_and_round_trip(path: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_yaml(path)
    assert recipe.name == path.stem
    copy = tmp_path / path.name
    copy.write_text(recipe.to_yaml())
    assert Recipe.from_yaml(copy) == recipe


def test_all_five_recipes_exist() -> None:
    assert {p.name for p in RECIPES} >= {"dna-char-tiny.yaml", "dna-kmer6-small.yaml", "dna-bpe-small.yaml",
                                         "protein-small.yaml", "dna-base-gpu.yaml"}


def test_overrides_are_parsed_as_yaml_values() -> None:
    recipe = Recipe.from_yaml(REPO_ROOT / "recipes" / "dna-char-tiny.yaml",
                              ["optim.lr=1e-2", "trainer.devices=2", "data.inputs=[a.fa, b.fa]",
                               "model.overrides={n_embd: 32}", "trainer.peak_tflops=null", "resume=true"])
    assert recipe.optim.lr == 0.01 and recipe.trainer.devices == 2
    assert recipe.data.inputs == ["a.fa", "b.fa"] and recipe.model.overrides == {"n_embd": 32}
    assert recipe.trainer.peak_tflops is None and recipe.resume is True


@pytest.mark.parametrize(("override", "message"), [
    ("optim.lrr=1", "unknown recipe key 'optim.lrr'; valid keys in optim: lr, min_lr_ratio"),
    ("foo=1", "unknown recipe key 'foo'; valid keys: name, data, model, optim, trainer, resume"),
    ("trainer.max_steps=ten", "recipe key 'trainer.max_steps' must be int, got 'ten'"),
    ("data.alphabet=rna2", "recipe key 'data.alphabet' = 'rna2' is not one of"),
    ("optim", "must look like section.key=value"),
])
def test_bad_keys_and_values_are_config_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Recipe.from_yaml(REPO_ROOT / "recipes" / "dna-char-tiny.yaml", [override])


def test_unknown_key_in_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("data:\n  tokeniser: char\n")
    with pytest.raises(ConfigError, match="unknown recipe key 'data.tokeniser'; valid keys in data: inputs, demo_corpus, tokenizer"):
        Recipe.from_yaml(path)


def test_every_field_has_a_docstring() -> None:
    import inspect

    from bioLM.training import recipe as module

    for cls in (module.DataConfig, module.ModelConfig, module.OptimConfig, module.TrainerConfig, module.Recipe):
        source = inspect.getsource(cls)
        for name in cls.__dataclass_fields__:
            line = next(i for i, text in enumerate(source.splitlines()) if text.strip().startswith(f"{name}:"))
            assert source.splitlines()[line + 1].strip().startswith('"""'), f"{cls.__name__}.{name}"


def test_pretrain_cli_reports_unknown_key_without_traceback(capsys) -> None:
    from bioLM.cli import main

    assert main(["pretrain", str(REPO_ROOT / "recipes" / "dna-char-tiny.yaml"), "optim.lrr=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe key 'optim.lrr'" in err and "Traceback" not in err
