"""CLI flags derived from config dataclasses (bioLM.cli.options): read from source, equal to the imported class."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from pathlib import Path

import pytest

from bioLM.cli import build_parser
from bioLM.cli.options import _NO_DEFAULT, add_options, build_options, dataclass_fields

TARGETS = [
    "bioLM.data.prepare:PrepareConfig",
    "bioLM.training.recipe:DataConfig",
    "bioLM.scoring.variants:VariantScoringConfig",
    "bioLM.scoring.mutations:MutationScoringConfig",
    "bioLM.generation:GenerateOptions",
    "bioLM.finetuning.finetune:FinetuneConfig",
]


@pytest.mark.parametrize("target", TARGETS)
def test_source_reading_matches_the_imported_dataclass(target):
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    real = {f.name: f for f in dataclasses.fields(cls)}
    read = {spec.name: spec for spec in dataclass_fields(target)}
    assert list(read) == list(real)
    for key, spec in read.items():
        assert spec.doc, f"{target}.{key} has no docstring"
        if spec.default is _NO_DEFAULT:
            continue
        field = real[key]
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        assert spec.default == default, key


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def test_prepare_flags_reach_the_configs(tmp_path: Path):
    from bioLM.data.prepare import PrepareConfig

    args = _parse(["prepare", "x.fa", "--out", str(tmp_path), "--tokenizer", "kmer", "-k", "3", "--stride", "1",
                   "--replace-invalid", "--n-run", "7", "--split-by", "region", "--shard-tokens", "100"])
    assert (args.tokenizer, args.k, args.stride, args.alphabet) == ("kmer", 3, 1, "dna")
    config = build_options("bioLM.data.prepare:PrepareConfig", args)
    assert config == PrepareConfig(replace_invalid=True, n_run_threshold=7, split_by="region", shard_tokens=100,
                                   alphabet="dna")
    defaults = build_options(PrepareConfig, _parse(["prepare", "x.fa", "--out", str(tmp_path)]))
    assert defaults == PrepareConfig(alphabet="dna")  # the tokenizer flag --alphabet reaches the reader too


def test_bad_choice_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as stop:
        _parse(["prepare", "x.fa", "--out", "o", "--split-by", "halves"])
    assert stop.value.code == 2
    assert "invalid choice: 'halves'" in capsys.readouterr().err


def test_finetune_lists_are_comma_separated():
    from bioLM.finetuning.finetune import FinetuneConfig

    base = ["finetune", "--model", "m", "--task", "t", "--out", "o"]
    assert build_options(FinetuneConfig, _parse(base)).lora_target_modules is None
    for extra in (["q_proj,v_proj"], ["q_proj, v_proj,"]):
        args = _parse([*base, "--lora", "--lora-target-modules", *extra, "--pooling", "mean"])
        config = build_options(FinetuneConfig, args)
        assert (config.lora, config.lora_target_modules, config.pooling) == (True, ["q_proj", "v_proj"], "mean")


def test_score_variants_builds_its_config_with_runtime_flags():
    from bioLM.scoring.variants import VariantScoringConfig

    args = _parse(["score-variants", "--model", "m", "--reference", "r.fa", "--vcf", "v.vcf", "--out", "o.vcf",
                   "--window", "64", "--strands", "+", "--precision", "fp32", "--scoring", "masked-llr"])
    config = build_options("bioLM.scoring.variants:VariantScoringConfig", args)
    assert config == VariantScoringConfig(window=64, strands="+", precision="fp32", scoring="masked-llr")
    assert isinstance(args.contig_map, type(None))


def test_help_comes_from_the_field_docstring_and_types_from_annotations():
    parser = argparse.ArgumentParser()
    add_options(parser, "bioLM.generation:GenerateOptions", only=["top_p", "prompt"])
    text = parser.format_help()
    assert "Nucleus sampling" in text and "(default: 1.0)" in text
    assert parser.parse_args(["--top-p", "0.5"]).top_p == 0.5
    with pytest.raises(LookupError, match="no field"):
        add_options(argparse.ArgumentParser(), "bioLM.generation:GenerateOptions", only=["nope"])


@pytest.mark.parametrize("argv", [
    ["prepare", "a.fa", "--out", "o", "--tokenizer", "kmer", "-k", "4", "--alphabet", "rna", "--vocab-size", "64",
     "--val-fraction", "0.2", "--seed", "3", "--split-by", "record", "--window-bases", "500", "--n-run", "9",
     "--soft-mask"],
    ["score-variants", "--model", "m", "--reference", "r", "--vcf", "v", "--out", "o", "--tsv", "t", "--window", "9",
     "--strands", "-", "--skip-ref-mismatch", "--contig-map", "c", "--annotation", "a", "--genetic-code", "11",
     "--max-tokens", "99", "--scoring", "log-likelihood-ratio", "--device", "cpu", "--precision", "fp32"],
    ["score-mutations", "--model", "m", "--sequence", "MK", "--mutations", "x.csv", "--out", "o.csv",
     "--mutation-column", "m", "--score-column", "s", "--fitness-column", "f", "--max-tokens", "9",
     "--scoring", "wildtype-marginal"],
    ["generate", "--model", "m", "--n", "2", "--max-length", "5", "--prompt", "AC", "--temperature", "0.5",
     "--top-k", "3", "--top-p", "0.9", "--seed", "1", "--batch-size", "2", "--out", "o.fa"],
    ["finetune", "--model", "m", "--task", "t", "--task-format", "gue", "--out", "o", "--freeze-backbone",
     "--learning-rate", "0.01", "--batch-size", "4", "--max-epochs", "2", "--patience", "1", "--pooling", "last",
     "--seed", "2", "--lora", "--lora-rank", "4", "--lora-alpha", "8", "--lora-dropout", "0.1",
     "--lora-target-modules", "q_proj,v_proj"],
    ["embed", "--model", "m", "--reference", "r.fa", "--regions", "g.gff3", "--feature-types", "CDS,rRNA", "x.fa",
     "--vcf", "v.vcf", "--variant-window", "50", "--contig-map", "c", "--skip-ref-mismatch", "--out", "o.npz",
     "--format", "npz", "--layers=-1,-2", "--pooling", "bos", "--window-overlap", "8",
     "--reverse-complement-average", "--max-tokens", "99", "--shard-size", "5", "--resume", "--keep-shards"],
])
def test_every_earlier_flag_still_parses(argv):
    args = _parse(argv)
    flags = [a for a in argv[1:] if a.startswith("-") and len(a) > 1]
    assert flags and args.func is not None
    for flag in flags:  # each value given reached the namespace (switches: True)
        flag = flag.split("=")[0]
        dest = {"-k": "k", "--n-run": "n_run_threshold", "--format": "fmt"}.get(flag, flag.lstrip("-").replace("-", "_"))
        assert hasattr(args, dest), flag


def test_replace_invalid_is_a_recipe_key():
    from bioLM.training.recipe import Recipe

    assert Recipe.from_dict({"data": {"replace_invalid": True}}).data.replace_invalid is True
    assert Recipe().data.replace_invalid is False


def test_embed_builds_its_job_and_options():
    from bioLM.cli.embed import parse_layers
    from bioLM.embedding.embed import EmbedOptions
    from bioLM.embedding.job import EmbedJob

    args = _parse(["embed", "--model", "m", "--regions", "g.gbk", "--feature-types", "CDS,rRNA", "--out", "o.npz",
                   "--layers=-1,-2", "--max-tokens", "64", "--precision", "fp32"])
    options = build_options(EmbedOptions, args, progress=True)
    job = build_options(EmbedJob, args, layers=parse_layers(args.layers), options=options)
    assert options == EmbedOptions(max_tokens=64, precision="fp32", progress=True)
    assert (job.feature_types, job.layers, job.fmt, str(job.model), job.fasta) == (["CDS", "rRNA"], [-1, -2], None,
                                                                                   "m", None)


def test_building_the_parser_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys; from bioLM.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_runtime_choices_are_the_hardware_precisions():
    from bioLM.cli.options import module_constant
    from bioLM.hardware import PRECISIONS

    assert module_constant("bioLM.hardware:PRECISIONS") == PRECISIONS
    assert _parse(["generate", "--model", "m", "--precision", "bf16"]).precision == "bf16"
