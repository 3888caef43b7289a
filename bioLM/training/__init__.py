"""Pretraining: recipes, the LightningModule, callbacks, ``pretrain()`` and ``export_checkpoint()``."""

from bioLM.training.recipe import Recipe

__all__ = ["Recipe", "export_checkpoint", "pretrain", "pretrain_from_files"]


def __getattr__(name: str):
    """``pretrain``, ``pretrain_from_files`` and ``export_checkpoint`` are imported on first use (they pull in Lightning and torch)."""
    if name in ("pretrain", "pretrain_from_files"):
        from bioLM.training import pretraining
        return getattr(pretraining, name)
    if name == "export_checkpoint":
        from bioLM.training.export import export_checkpoint
        return export_checkpoint
    raise AttributeError(name)
