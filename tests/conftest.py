"""Shared test fixtures: paths to the real data beside the repo, and seeded generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Each test runs torch on one thread: the suite runs one pytest worker per core, and tiny models run
    ~10x faster on one thread than with OpenMP threads spin-waiting on a shared core."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Tiny models for the scoring and fine-tuning tests: a random one, and one trained for a few seconds on a repeat.
REPEAT = "ACGTTGCAAGGC"  # period 12, every 3-mer context predicts the next base


def make_tokenizer(alphabet: str):
    try:
        from bioLM.tokenization import build_tokenizer
        return build_tokenizer("char", alphabet=alphabet)
    except ImportError:
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast

        letters = "ACGTN" if alphabet == "dna" else "ACDEFGHIKLMNPQRSTVWYBZXUO*"
        vocab = {t: i for i, t in enumerate(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", *letters])}
        backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        backend.decoder = decoders.Fuse()
        return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                       bos_token="<bos>", eos_token="<eos>", mask_token="<mask>")


def make_model(vocab_size: int, seed: int = 0, context: int = 128):
    torch.manual_seed(seed)
    try:
        from bioLM.model import BioLMForCausalLM, config_from_preset
        config = config_from_preset("tiny", vocab_size=vocab_size, n_layer=2, n_head=2, n_embd=32,
                                    block_size=context)
        return BioLMForCausalLM(config)
    except ImportError:
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(vocab_size=vocab_size, n_positions=context, n_embd=32, n_layer=2, n_head=2,
                            bos_token_id=2, eos_token_id=3, pad_token_id=0)
        return GPT2LMHeadModel(config)


def save(model, tokenizer, path: Path) -> Path:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def train_on(model, tokenizer, text: str, steps: int, seed: int = 0, length: int = 48) -> None:
    """Plain torch loop: next-token prediction on random windows of ``text``, each starting with <bos>."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(tokenizer(text, add_special_tokens=False)["input_ids"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        starts = rng.integers(0, len(ids) - length, size=16)
        batch = np.stack([np.concatenate([[tokenizer.bos_token_id], ids[s:s + length]]) for s in starts])
        x = torch.as_tensor(batch)
        loss = model(input_ids=x, labels=x).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@pytest.fixture(scope="session")
def repeat_unit() -> str:
    return REPEAT


@pytest.fixture(scope="session")
def repeat_model_dir(tmp_path_factory) -> Path:
    """A DNA model trained (~seconds) on a period-12 repeat: breaking the repeat costs many nats."""
    tokenizer = make_tokenizer("dna")
    model = make_model(len(tokenizer))
    from bioLM.alphabet import reverse_complement

    train_on(model, tokenizer, REPEAT * 40 + reverse_complement(REPEAT * 40), steps=150)
    return save(model, tokenizer, tmp_path_factory.mktemp("repeat_model"))


@pytest.fixture(scope="session")
def random_dna_dir(tmp_path_factory) -> Path:
    tokenizer = make_tokenizer("dna")
    return save(make_model(len(tokenizer), seed=1), tokenizer, tmp_path_factory.mktemp("random_dna"))


@pytest.fixture(scope="session")
def random_protein_dir(tmp_path_factory) -> Path:
    tokenizer = make_tokenizer("protein")
    return save(make_model(len(tokenizer), seed=2, context=512), tokenizer,
                tmp_path_factory.mktemp("random_protein"))
