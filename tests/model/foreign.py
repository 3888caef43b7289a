"""Tiny random-weight Hugging Face models that bioLM did not train, saved with ``save_pretrained``.

* ``gpt2_char``: GPT2LMHeadModel, a plain per-base DNA tokenizer whose vocabulary starts with the bases (ids 0..4)
  and puts its special tokens after them (no reliance on bioLM's special ids);
* ``llama_kmer``: LlamaForCausalLM with a non-overlapping 3-mer DNA tokenizer (tails of 1-2 bases included);
* ``esm_protein``: EsmForMaskedLM with the ESM-2 vocabulary (``<cls> ... <eos>``);
* ``esm_dna``: EsmForMaskedLM with a per-base DNA vocabulary (Nucleotide-Transformer style, single bases).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

ESM_PROTEIN_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K",
                     "Q", "N", "F", "Y", "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>"]
ESM_DNA_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", "A", "C", "G", "T", "N", "<mask>"]


def _fast_tokenizer(tokens: list[str], pattern: str):
    """A WordLevel tokenizer: ``tokens`` first, then <unk> <pad> <s> </s>; pieces cut by the regex ``pattern``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*tokens, "<unk>", "<pad>", "<s>", "</s>"])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                   bos_token="<s>", eos_token="</s>")


def gpt2_char(path: Path, context: int = 64) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = _fast_tokenizer(list("ACGTN"), r"[\s\S]")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=context, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    return _save(GPT2LMHeadModel(config), tokenizer, path)


def llama_kmer(path: Path, k: int = 3, context: int = 64) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    kmers = ["".join(p) for n in range(1, k + 1) for p in itertools.product("ACGTN", repeat=n)]
    tokenizer = _fast_tokenizer(kmers, r"[\s\S]{1," + str(k) + "}")
    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=context,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    return _save(LlamaForCausalLM(config), tokenizer, path)


def _esm(path: Path, vocab: list[str], seed: int) -> Path:
    from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer

    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = EsmTokenizer(str(path / "vocab.txt"))
    torch.manual_seed(seed)
    config = EsmConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=130, pad_token_id=vocab.index("<pad>"),
                       mask_token_id=vocab.index("<mask>"), position_embedding_type="rotary", token_dropout=False)
    return _save(EsmForMaskedLM(config), tokenizer, path)


def esm_protein(path: Path) -> Path:
    return _esm(path, ESM_PROTEIN_VOCAB, seed=2)


def esm_dna(path: Path) -> Path:
    return _esm(path, ESM_DNA_VOCAB, seed=3)


def _save(model, tokenizer, path: Path) -> Path:
    model.eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
