"""bioLM.data.tokenizer.resolve_tokenizer: the one resolution of `prepare` and `pretrain` (kind, directory, cache)."""

from __future__ import annotations

import pytest

from bioLM.data.tokenizer import resolve_tokenizer
from bioLM.errors import ConfigError
from bioLM.tokenization import tokenizer_spec


def test_kind_directory_and_cache(tmp_path):
    built = resolve_tokenizer("kmer", k=3, stride=1, cache_dir=tmp_path / "tok")
    spec = tokenizer_spec(built)
    assert (spec.kind, spec.k, spec.stride) == ("kmer", 3, 1)
    again = resolve_tokenizer("kmer", k=3, stride=1, cache_dir=tmp_path / "tok")  # same request: the cached one
    assert again.get_vocab() == built.get_vocab()
    assert tokenizer_spec(resolve_tokenizer(tmp_path / "tok")).stride == 1  # a saved directory
    changed = resolve_tokenizer("kmer", k=4, cache_dir=tmp_path / "tok")  # another request rebuilds
    assert tokenizer_spec(changed).k == 4
    assert tokenizer_spec(resolve_tokenizer(tmp_path / "tok")).k == 4


def test_unknown_kind_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.tokenizer='wordpiece' is neither a tokenizer kind"):
        resolve_tokenizer("wordpiece", option="data.tokenizer")
