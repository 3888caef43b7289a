"""Fixtures of the training tests (helpers live in training_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioLM.synthetic import demo_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Four synthetic DNA records of 3 kb."""
    return demo_corpus(tmp_path / "corpus.fa", n_records=4, length=3000, seed=1)
