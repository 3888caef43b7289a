"""KV cache, padding and generate() behave like a full forward on the real tokens."""

from __future__ import annotations

import pytest
import torch

from bioLM.model import BioLMForCausalLM, BioLMForSequenceClassification

PAD = 0


@torch.no_grad()
def test_kv_cache_incremental_matches_full_forward(tiny_model, tokens):
    full = tiny_model(tokens, use_cache=False).logits  # (B, T, V)
    out = tiny_model(tokens[:, :5], use_cache=True)
    pieces, cache = [out.logits], out.past_key_values
    for start, stop in [(5, 6), (6, 9), (9, 16)]:  # one token, then chunks of several tokens
        out = tiny_model(tokens[:, start:stop], past_key_values=cache, use_cache=True)
        pieces.append(out.logits)
        cache = out.past_key_values
    assert cache.get_seq_length() == 16
    torch.testing.assert_close(torch.cat(pieces, dim=1), full)


@torch.no_grad()
@pytest.mark.parametrize("side", ["left", "right"])
def test_padded_batch_matches_unpadded(tiny_model, tokens, side):
    short = tokens[1, :10]
    pad = torch.full((6,), PAD)
    row = torch.cat([pad, short]) if side == "left" else torch.cat([short, pad])
    mask = (torch.arange(16) >= 6) if side == "left" else (torch.arange(16) < 10)
    batch = torch.stack([tokens[0], row])
    attention_mask = torch.stack([torch.ones(16, dtype=torch.long), mask.long()])
    logits = tiny_model(batch, attention_mask=attention_mask).logits
    torch.testing.assert_close(logits[0], tiny_model(tokens[:1]).logits[0])
    alone = tiny_model(short[None]).logits[0]
    torch.testing.assert_close(logits[1][mask], alone)
    assert torch.isfinite(logits).all()


@torch.no_grad()
def test_greedy_generate_matches_argmax_loop(tiny_model, tokens):
    prompt = tokens[:, :6]
    generated = tiny_model.generate(prompt, max_new_tokens=8, do_sample=False, eos_token_id=None,
                                    pad_token_id=PAD)
    assert generated.shape == (2, 14)
    sequence = prompt
    for _ in range(8):  # no cache: full forward each step
        next_token = tiny_model(sequence, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
        sequence = torch.cat([sequence, next_token], dim=1)
    assert torch.equal(generated, sequence)


@torch.no_grad()
def test_sampling_is_reproducible_with_seed(tiny_model, tokens):
    def sample(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return tiny_model.generate(tokens[:, :4], max_new_tokens=12, do_sample=True, top_k=0, temperature=1.5,
                                   eos_token_id=None, pad_token_id=PAD)
    first, again, other = sample(7), sample(7), sample(8)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@torch.no_grad()
def test_left_padded_generate_matches_unpadded(tiny_model, tokens):
    short = tokens[1, :4]
    batch = torch.stack([tokens[0, :7], torch.cat([torch.full((3,), PAD), short])])
    attention_mask = torch.tensor([[1] * 7, [0] * 3 + [1] * 4])
    kwargs = {"max_new_tokens": 6, "do_sample": False, "eos_token_id": None, "pad_token_id": PAD}
    together = tiny_model.generate(batch, attention_mask=attention_mask, **kwargs)
    alone = tiny_model.generate(short[None], **kwargs)
    assert torch.equal(together[1, 3:], alone[0])
    assert torch.equal(together[0], tiny_model.generate(tokens[:1, :7], **kwargs)[0])


def test_loss_is_shifted_cross_entropy_with_ignore_index(tiny_model, tokens):
    labels = tokens.clone()
    labels[0, 3] = -100
    out = tiny_model(tokens, labels=labels)
    logits = out.logits[:, :-1].reshape(-1, out.logits.shape[-1])
    expected = torch.nn.functional.cross_entropy(logits, labels[:, 1:].reshape(-1), ignore_index=-100)
    torch.testing.assert_close(out.loss, expected)


@torch.no_grad()
def test_hidden_states_for_all_layers(tiny_model, tokens):
    out = tiny_model.model(tokens, output_hidden_states=True)
    assert len(out.hidden_states) == tiny_model.config.n_layer + 1
    assert all(h.shape == (2, 16, 32) for h in out.hidden_states)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    torch.testing.assert_close(out.hidden_states[0], tiny_model.model.embed_tokens(tokens))


@torch.no_grad()
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_classifier_pooling_ignores_padding(tiny_config, tokens, pooling):
    torch.manual_seed(0)
    clf = BioLMForSequenceClassification(tiny_config(num_labels=2, classifier_pooling=pooling)).eval()
    short = tokens[1, :10]
    right = torch.cat([short, torch.full((6,), PAD)])[None]
    left = torch.cat([torch.full((6,), PAD), short])[None]
    alone = clf(short[None]).logits
    torch.testing.assert_close(clf(right, attention_mask=(right != PAD).long()).logits, alone)
    torch.testing.assert_close(clf(left, attention_mask=(left != PAD).long()).logits, alone)
    torch.testing.assert_close(clf(right).logits, alone)  # mask found from pad_token_id


def test_model_type_registered():
    from transformers import AutoModelForCausalLM
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    assert "biolm" in CONFIG_MAPPING
    assert AutoModelForCausalLM.from_config(CONFIG_MAPPING["biolm"](n_layer=1, n_head=2, n_embd=16)).__class__ \
        is BioLMForCausalLM
