"""Pretraining: recipes, the LightningModule, callbacks, ``pretrain()`` and ``export_checkpoint()``."""

from bioLM.training.recipe import Recipe

__all__ = ["Recipe", "export_checkpoint", "export_model", "pretrain", "pretrain_from_files"]


def __getattr__(name: str):
    """``pretrain``, ``pretrain_from_files``, ``export_checkpoint`` and ``export_model`` are imported on first use (they pull in Lightning and torch)."""
    if name in ("pretrain", "pretrain_from_files"):
        from bioLM.training import pretraining
        return getattr(pretraining, name)
    if name in ("export_checkpoint", "export_model"):
        from bioLM.training import export
        return getattr(export, name)
    raise AttributeError(name)
