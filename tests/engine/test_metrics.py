"""Metrics on cases with a known answer: AUC, privacy leak, recovery, exposure, quantization."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from remediation.unlearning.attacks import linear_weights, quantize_model, quantize_tensor
from remediation.unlearning.demo.data import items_of
from remediation.unlearning.detect import exposure_from_losses
from remediation.unlearning.items import completion_suffix
from remediation.unlearning.mia import auc, min_k_pp_score, min_k_score, privacy_leak, recovery
from remediation.unlearning.scoring import TokenStats, encode_pairs, encode_prompts, encode_texts


def test_auc_of_separable_sets_is_one_and_zero():
    # given scores where every member is above every non-member
    members, nonmembers = [5.0, 6.0, 7.0], [1.0, 2.0]
    # when / then
    assert auc(members, nonmembers) == 1.0
    assert auc(nonmembers, members) == 0.0


def test_auc_of_identical_sets_is_one_half():
    # given two copies of the same scores
    scores = [0.3, 0.1, 0.7, 0.7]
    # when / then: ties count half, so identical sets are indistinguishable
    assert auc(scores, list(scores)) == pytest.approx(0.5)


def test_privacy_leak_is_zero_at_reference_and_minus_100_when_memorised():
    # given / when / then
    assert privacy_leak(0.5) == pytest.approx(0.0)
    assert privacy_leak(1.0) == pytest.approx(-100.0)
    assert privacy_leak(0.0) == pytest.approx(100.0)
    assert privacy_leak(0.6, auc_ref=0.6) == pytest.approx(0.0)


def test_recovery_is_the_share_of_the_removed_gap_regained():
    # given extraction 1.0 before, 0.0 after, 0.25 after an attack
    # when / then
    assert recovery(1.0, 0.0, 0.25) == pytest.approx(0.25)
    assert recovery(0.0, 0.0, 0.5) == 0.0  # nothing was removed, nothing can come back


def test_exposure_of_a_planted_canary_is_maximal():
    # given a true value far more likely than each of 1023 candidates
    candidates = np.linspace(50.0, 90.0, 1023)
    # when
    exposure = exposure_from_losses(10.0, candidates)
    # then: rank 1 of 1023 candidates gives log2(1023) bits
    assert exposure == pytest.approx(math.log2(1023))


def test_exposure_of_a_median_value_is_about_one_bit():
    # given a value that ranks in the middle of 1000 candidates
    candidates = np.arange(1000, dtype=float)
    # when
    exposure = exposure_from_losses(499.5, candidates)
    # then: log2(1000) - log2(501) = 1 bit
    assert exposure == pytest.approx(math.log2(1000 / 501))


def test_min_k_scores_use_the_least_likely_tokens():
    # given five token log-probs, mean 0 and std 1 everywhere
    stats = TokenStats(
        logp=np.array([-1.0, -5.0, -0.1, -3.0, -0.2]), mu=np.zeros(5), sigma=np.ones(5)
    )
    # when / then: k = 0.4 keeps the two least likely tokens
    assert min_k_score(stats) == pytest.approx(-4.0)
    assert min_k_pp_score(stats) == pytest.approx(-4.0)


def test_quantization_round_trip_error_is_at_most_half_a_step():
    # given a random weight matrix
    weight = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    for bits in (4, 8):
        # when
        quantized = quantize_tensor(weight, bits, row_dim=0)
        # then: per row, the error is at most half the step max|w| / (2^(b-1) - 1)
        step = weight.abs().amax(dim=1, keepdim=True) / (2 ** (bits - 1) - 1)
        assert torch.all((quantized - weight).abs() <= step / 2 + 1e-6)
        assert len(torch.unique(quantized[0])) <= 2**bits - 1
    error4 = (quantize_tensor(weight, 4) - weight).abs().mean()
    error8 = (quantize_tensor(weight, 8) - weight).abs().mean()
    assert error8 < error4 / 8


def test_quantize_model_changes_block_weights_only_and_leaves_the_input_alone():
    # given a small GPT-2
    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    )
    original = {n: p.detach().clone() for n, p in model.named_parameters()}
    # when
    quantized = quantize_model(model, 4)
    # then: linear weights moved, embeddings and norms did not, the input is untouched
    names = {name for name, _, _ in linear_weights(model)}
    assert names == {
        "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.weight",
        "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight",
    }
    after = dict(quantized.named_parameters())
    assert not torch.equal(
        after["transformer.h.0.mlp.c_fc.weight"], original["transformer.h.0.mlp.c_fc.weight"]
    )
    assert torch.equal(after["transformer.wte.weight"], original["transformer.wte.weight"])
    assert torch.equal(
        after["transformer.h.0.ln_1.weight"], original["transformer.h.0.ln_1.weight"]
    )
    assert all(torch.equal(p, original[n]) for n, p in model.named_parameters())


def test_batch_encoding_gives_the_ids_of_encoding_one_by_one(tiny, tiny_data):
    # given: prompts and values of every kind, a prompt ending in a space, a value
    # starting with one, and an empty prompt
    tokenizer = tiny.tokenizer
    items = items_of(tiny_data.trained[:3])
    asked = [(item.prompt, item.target) for item in items]
    asked += [("Call me at ", "555-0100"), ("Her note:", " see you"), ("", "plain text")]
    # when
    together = encode_pairs(tokenizer, asked)
    texts = encode_texts(tokenizer, [p + v for p, v in asked])
    # then
    alone = []
    for prompt, value in asked:
        suffix = completion_suffix(prompt, value)
        alone.append(
            (
                list(tokenizer(prompt)["input_ids"]),
                list(tokenizer(suffix, add_special_tokens=False)["input_ids"]),
            )
        )
    assert together == alone
    assert all(value for _, value in together)
    assert texts == [(list(tokenizer(p + v)["input_ids"]), []) for p, v in asked]
    assert encode_pairs(tokenizer, []) == [] and encode_prompts(tokenizer, []) == []
