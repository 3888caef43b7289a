"""``pretrain(recipe)``: prepare the corpus if needed, train with Lightning, plot, export. Returns the model dir.

Run folder (``trainer.out_dir``): ``tokenizer/``, ``dataset/`` (unless ``data.dataset_dir``), ``checkpoints/
last.ckpt``, ``logs/metrics.csv`` (and ``tensorboard/`` when ``trainer.loggers`` asks), ``losses.tsv`` (loss
per optimizer step), ``learning_curve.png``, ``recipe.yaml`` and ``model/`` (the exported Hugging Face
directory). A resumed run continues the same log files (rows past its checkpoint are dropped first).
Ctrl-C stops at the end of the current step, saves a checkpoint and raises :class:`TrainingInterrupted`
whose message gives the command that resumes.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import lightning as L
import torch

from bioLM.data.prepare import PrepareConfig, prepare_corpus, tokenizer_sha256
from bioLM.data.shards import verify_dataset
from bioLM.data.tokenizer import resolve_tokenizer as build_or_load_tokenizer
from bioLM.errors import ConfigError
from bioLM.hardware import resolve_precision
from bioLM.training.callbacks import (
    AtomicCheckpointIO,
    LossRecorder,
    PeriodicCheckpoint,
    RNGState,
    ThroughputMonitor,
    build_loggers,
    trim_logs,
)
from bioLM.training.curves import plot_learning_curve
from bioLM.training.module import BioLMLightningModule, TrainingDivergedError
from bioLM.training.progress import StopOnRequest, TrainingInterrupted, TrainingProgress, graceful_interrupt
from bioLM.training.recipe import Recipe

logger = logging.getLogger(__name__)


def resolve_tokenizer(recipe: Recipe, out_dir: Path):
    """The recipe's tokenizer (:func:`bioLM.data.tokenizer.resolve_tokenizer`), a built one cached in
    ``<out_dir>/tokenizer`` so re-runs keep the same identity."""
    data = recipe.data
    return build_or_load_tokenizer(data.tokenizer, alphabet=data.alphabet, k=data.k, stride=data.stride,
                                   vocab_size=data.vocab_size, inputs=data.inputs, cache_dir=out_dir / "tokenizer",
                                   option="data.tokenizer")


def check_checkpoint(path: Path) -> None:
    """Refuse, before any work, a checkpoint that does not load safely (``weights_only=True``: a pickle that
    would run code fails unexecuted) or is not a bioLM training checkpoint; memory-mapped, so cheap."""
    from bioLM.errors import InputFormatError
    from bioLM.training.export import load_checkpoint

    try:
        load_checkpoint(path)
    except InputFormatError as error:
        raise InputFormatError(f"{error}; move it away to train from scratch") from None


def prepare_dataset(recipe: Recipe, tokenizer, out_dir: Path):
    """Prepare (or reuse) the dataset of ``recipe`` and check it against ``tokenizer``. Returns (dir, manifest)."""
    data = recipe.data
    dataset_dir = Path(data.dataset_dir) if data.dataset_dir else out_dir / "dataset"
    if data.inputs:
        config = PrepareConfig(val_fraction=data.val_fraction, seed=recipe.trainer.seed, split_by=data.split_by,
                               window_bases=data.window_bases, n_run_threshold=data.n_run_threshold,
                               soft_mask=data.soft_mask, alphabet=data.alphabet,
                               replace_invalid=data.replace_invalid)
        prepare_corpus(data.inputs, tokenizer, dataset_dir, config)  # verifies (or rebuilds) the shards
    elif not dataset_dir.is_dir():
        raise ConfigError(f"data.inputs is empty and the dataset {dataset_dir} does not exist; name FASTA files "
                          "in data.inputs or an existing prepared dataset in data.dataset_dir")
    # shards whose mtime changed since they were hashed are hashed again; the others cost a stat
    manifest = verify_dataset(dataset_dir, vocab_size=len(tokenizer), tokenizer_sha256=tokenizer_sha256(tokenizer),
                              full=False if data.inputs else None)
    if manifest.splits["val"].tokens < 2:
        raise ConfigError(f"dataset {dataset_dir} has no validation tokens; raise data.val_fraction")
    return dataset_dir, manifest


def _tokenizer_files(tokenizer) -> dict[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        return {p.name: p.read_text() for p in Path(tmp).iterdir() if p.is_file()}


def build_trainer(recipe: Recipe, out_dir: Path, callbacks: list, resume_step: int = 0) -> L.Trainer:
    """The Lightning Trainer of a recipe (precision, devices, strategy, accumulation, clipping, validation,
    loggers; ``resume_step``: the optimizer step a resumed run starts from)."""
    t = recipe.trainer
    return L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
        precision=resolve_precision(t.precision, t.accelerator), max_steps=t.max_steps, max_epochs=-1,
        accumulate_grad_batches=t.accumulate_grad_batches,
        gradient_clip_val=recipe.optim.grad_clip or None,
        val_check_interval=t.val_every * t.accumulate_grad_batches, check_val_every_n_epoch=None,
        num_sanity_val_steps=0, log_every_n_steps=t.log_every, use_distributed_sampler=False,
        enable_checkpointing=False, enable_progress_bar=t.progress_bar, enable_model_summary=False,
        logger=build_loggers(t.loggers, out_dir, resume_step) or False, callbacks=callbacks, plugins=[AtomicCheckpointIO()],
        default_root_dir=out_dir)


def build_module(recipe: Recipe, tokenizer, manifest) -> BioLMLightningModule:
    """The LightningModule of ``recipe``: a fresh model from the preset, carrying what export needs."""
    from bioLM.model import config_from_preset
    from bioLM.tokenization import bases_per_token

    t = recipe.trainer
    overrides = {"block_size": recipe.model.context_length, **recipe.model.overrides}
    config = config_from_preset(recipe.model.preset, len(tokenizer), **overrides)
    extras = {"recipe": recipe.to_dict(), "manifest": manifest.to_dict(),
              "tokenizer_files": _tokenizer_files(tokenizer)}
    return BioLMLightningModule(config.to_dict(), dataclasses.asdict(recipe.optim), t.max_steps,
                                bases_per_token(tokenizer).tolist(), recipe.data.soft_mask_weight, t.compile,
                                tokens_per_micro_batch=_micro_batch_tokens(recipe), extras=extras)


def _micro_batch_tokens(recipe: Recipe) -> int:
    """B * T of one rank's micro-batch."""
    return recipe.data.micro_batch_size * recipe.model.context_length


def build_datamodule(recipe: Recipe, tokenizer, dataset_dir: Path):
    """Training windows drawn from (seed, step), validation over every validation token."""
    from bioLM.data.datamodule import BioLMDataModule
    from bioLM.tokenization import complement_table

    t = recipe.trainer
    return BioLMDataModule(
        dataset_dir, recipe.model.context_length, recipe.data.micro_batch_size,
        t.max_steps * t.accumulate_grad_batches, seed=t.seed,
        rc_table=complement_table(tokenizer) if recipe.data.rc_augment else None,
        num_workers=recipe.data.num_workers, val_max_windows=t.val_max_windows)


def _fit(recipe: Recipe, module: BioLMLightningModule, datamodule, out_dir: Path, ckpt_path: Path,
         resume: bool) -> L.Trainer:
    """Run Lightning's fit (resuming from ``ckpt_path``), the final validation and the final checkpoint."""
    from bioLM.model import flops_per_token

    t = recipe.trainer
    resume_step = checkpoint_step(ckpt_path) if resume else 0
    tokens = _micro_batch_tokens(recipe)
    stopper = StopOnRequest()
    # LossRecorder before PeriodicCheckpoint: a step's loss is pending before that step's checkpoint flushes it
    flops = flops_per_token(module.model.config, recipe.model.context_length)
    callbacks = [LossRecorder(out_dir / "losses.tsv", t.log_every), PeriodicCheckpoint(ckpt_path, t.checkpoint_every),
                 RNGState(), ThroughputMonitor(tokens, flops, t.peak_tflops, t.log_every), stopper]
    if t.progress_bar:
        callbacks.append(TrainingProgress(t.log_every, "residue" if recipe.data.alphabet == "protein" else "base",
                                          tokens))
    trainer = build_trainer(recipe, out_dir, callbacks, resume_step)
    if trainer.is_global_zero:
        trim_logs(out_dir, resume_step)
    try:
        with graceful_interrupt(stopper):
            trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if resume else None,
                        weights_only=True)
    except TrainingDivergedError as error:
        kept = f"the last good checkpoint is {ckpt_path}" if ckpt_path.exists() else "no checkpoint was saved yet"
        raise TrainingDivergedError(f"{error}; {kept}") from None
    except SystemExit:  # Lightning exits on a KeyboardInterrupt: here a second Ctrl-C
        if not stopper.requested.is_set():
            raise
        if not ckpt_path.is_file():
            raise TrainingInterrupted("stopped at once, before the first checkpoint; start again") from None
        raise TrainingInterrupted(f"stopped at once; the last checkpoint (step {checkpoint_step(ckpt_path)}) is "
                                  f"kept. {_resume_hint(out_dir)}") from None
    if stopper.stopped_at is not None and trainer.global_step < t.max_steps:
        trainer.save_checkpoint(ckpt_path, weights_only=False)
        if trainer.is_global_zero:
            plot_learning_curve(out_dir)
        raise TrainingInterrupted(f"stopped at step {trainer.global_step}/{t.max_steps}; checkpoint saved to "
                                  f"{ckpt_path}. {_resume_hint(out_dir)}")
    if t.max_steps % t.val_every and trainer.global_step == t.max_steps:
        trainer.validate(module, datamodule=datamodule, verbose=False)
    trainer.save_checkpoint(ckpt_path, weights_only=False)
    return trainer


def _resume_hint(out_dir: Path) -> str:
    return f"Resume with: biolm pretrain {out_dir / 'recipe.yaml'} --resume"


def checkpoint_step(path: Path) -> int:
    """The optimizer step a checkpoint was saved at (read with ``mmap``: the tensors are not loaded)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return int(checkpoint.get("global_step", 0))


def pretrain(recipe: Recipe) -> Path:
    """Train ``recipe`` end to end; returns the exported model directory (or last.ckpt with export off).
    ``recipe`` is not modified (the demo corpus, when used, goes into a copy)."""
    t = recipe.trainer
    out_dir = Path(t.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "checkpoints" / "last.ckpt"
    for stale in ckpt_path.parent.glob("*.tmp-*"):  # a save interrupted by a kill; last.ckpt is intact
        stale.unlink(missing_ok=True)
    resume = recipe.resume and ckpt_path.is_file()
    if recipe.resume and not resume:
        logger.warning("resume requested but %s does not exist: starting from scratch", ckpt_path)
    if resume:
        check_checkpoint(ckpt_path)
    if not recipe.data.inputs and recipe.data.demo_corpus and not recipe.data.dataset_dir:
        from bioLM.synthetic import demo_corpus

        corpus = out_dir / "demo_corpus.fa"
        if not corpus.is_file():
            demo_corpus(corpus)
        recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, inputs=[str(corpus)]))
    tokenizer = resolve_tokenizer(recipe, out_dir)
    dataset_dir, manifest = prepare_dataset(recipe, tokenizer, out_dir)
    (out_dir / "recipe.yaml").write_text(recipe.to_yaml())
    L.seed_everything(t.seed, workers=True, verbose=False)
    module = build_module(recipe, tokenizer, manifest)
    trainer = _fit(recipe, module, build_datamodule(recipe, tokenizer, dataset_dir), out_dir, ckpt_path, resume)
    if not trainer.is_global_zero:
        return out_dir / "model"
    plot_learning_curve(out_dir)
    if not t.export:
        return ckpt_path
    from bioLM.training.export import export_checkpoint

    model_dir = export_checkpoint(ckpt_path, out_dir / "model")
    logger.info("model exported to %s", model_dir)
    return model_dir


def pretrain_from_files(recipe_path: str | Path, files: list[str | Path], out_dir: str | Path,
                        overrides: list[str] | None = None, resume: bool = False) -> Path:
    """``pretrain`` of the recipe at ``recipe_path`` on ``files``, in ``out_dir`` (used by ``biolm demo``)."""
    extra = [f"trainer.out_dir={Path(out_dir) / 'run'}"]
    recipe = Recipe.from_yaml(recipe_path, extra + list(overrides or []))
    recipe.data.inputs = [str(f) for f in files]
    recipe.resume = recipe.resume or resume
    return pretrain(recipe)
