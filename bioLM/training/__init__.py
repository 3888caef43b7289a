"""Pretraining: recipes, the LightningModule, callbacks, ``pretrain()`` and ``export_checkpoint()``."""

from bioLM.training.recipe import Recipe

__all__ = ["Recipe", "export_checkpoint", "pretrain"]


def __getattr__(name: str):
    """``pretrain`` and ``export_checkpoint`` are imported on first use (they pull in Lightning and torch)."""
    if name == "pretrain":
        from bioLM.training.pretrain import pretrain
        return pretrain
    if name == "export_checkpoint":
        from bioLM.training.export import export_checkpoint
        return export_checkpoint
    raise AttributeError(name)
