"""The LightningModule's pieces: LR schedule, weight-decay groups, soft-mask weighting, atomic checkpoints."""

from __future__ import annotations

import math

import pytest
import torch

from bioLM.model import config_from_preset
from bioLM.training.callbacks import AtomicCheckpointIO
from bioLM.training.module import BioLMLightningModule, cosine_with_warmup

OPTIM = {"lr": 1e-3, "min_lr_ratio": 0.1, "warmup_steps": 4, "weight_decay": 0.1, "betas": [0.9, 0.95],
         "eps": 1e-8, "grad_clip": 1.0}


def _module(soft_mask_weight: float = 1.0) -> BioLMLightningModule:
    config = config_from_preset("tiny", 21, n_embd=32, n_head=2, block_size=64)
    return BioLMLightningModule(config.to_dict(), OPTIM, 20, [0.0] * 5 + [1.0] * 16, soft_mask_weight)


def test_warmup_then_cosine() -> None:
    assert [cosine_with_warmup(s, 4, 20, 0.1) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert cosine_with_warmup(12, 4, 20, 0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert cosine_with_warmup(20, 4, 20, 0.1) == pytest.approx(0.1)
    assert cosine_with_warmup(50, 4, 20, 0.1) == pytest.approx(0.1)


def test_no_weight_decay_on_norms_biases_and_embeddings() -> None:
    module = _module()
    groups = module.configure_optimizers()["optimizer"].param_groups
    names = {id(p): n for n, p in module.model.named_parameters()}
    decayed = {names[id(p)] for p in groups[0]["params"]}
    plain = {names[id(p)] for p in groups[1]["params"]}
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    assert "model.embed_tokens.weight" in plain and all("norm" not in n for n in decayed)
    assert any("norm" in n for n in plain) and all(p.dim() >= 2 for p in groups[0]["params"])


def test_soft_mask_down_weights_masked_tokens() -> None:
    torch.manual_seed(0)
    ids = torch.randint(5, 21, (2, 17))
    mask = torch.zeros(2, 17)
    mask[:, 9:] = 1
    nats, _, weights = _module(0.25)._loss_terms({"input_ids": ids, "soft_mask": mask})
    assert nats.shape == (2, 16)
    assert torch.all(weights[:, :8] == 1.0) and torch.all(weights[:, 8:] == 0.25)
    _, _, plain = _module(1.0)._loss_terms({"input_ids": ids, "soft_mask": mask})
    assert torch.all(plain == 1.0)


def test_initial_loss_is_about_log_vocab() -> None:
    torch.manual_seed(0)
    nats, _, _ = _module()._loss_terms({"input_ids": torch.randint(5, 21, (4, 65))})
    assert abs(nats.mean().item() - math.log(64)) < 0.5  # padded vocabulary of 64 rows


def test_atomic_checkpoint_io_replaces_whole_files(tmp_path) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "ckpt" / "last.ckpt"
    io.save_checkpoint({"a": torch.ones(3)}, path)
    io.save_checkpoint({"a": torch.zeros(3)}, path)
    assert torch.equal(io.load_checkpoint(path)["a"], torch.zeros(3))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_loss_recorder_reads_losses_once_per_logged_step_and_before_a_checkpoint(tmp_path) -> None:
    from types import SimpleNamespace

    from bioLM.training.callbacks import LossRecorder, read_losses
    from bioLM.training.module import TrainingDivergedError

    path = tmp_path / "losses.tsv"
    recorder = LossRecorder(path, every=4)
    trainer = SimpleNamespace(accumulate_grad_batches=2, world_size=1, is_global_zero=True, global_step=0)
    path.touch()

    def step(micro_losses: list[float]) -> None:  # Lightning passes each micro-loss divided by accumulation
        for i, value in enumerate(micro_losses):
            trainer.global_step += i == len(micro_losses) - 1
            recorder.on_train_batch_end(trainer, None, {"loss": torch.tensor(value / 2)}, None, i)

    step([1.0, 3.0])
    step([2.0, 2.5])
    assert read_losses(path) == {}  # pending on the device
    recorder.on_save_checkpoint(trainer, None, {})
    assert read_losses(path) == {1: 2.0, 2: 2.25}
    step([1.0, 1.0])
    step([0.5, 0.5])  # step 4: a logged step
    assert read_losses(path) == {1: 2.0, 2: 2.25, 3: 1.0, 4: 0.5}
    step([1.0, math.nan])
    with pytest.raises(TrainingDivergedError, match="loss became nan at optimizer step 4"):
        recorder.on_save_checkpoint(trainer, None, {})
    assert max(read_losses(path)) == 4
