"""The default method's distance to a level: log-odds, exact where p rounds to 1; and its
text anchor's KL from a kept reference, the same as the sum over the vocabulary."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from remediation.unlearning.methods.rewrite import _HeadKL, log_odds, loss_log_odds


def test_log_odds_of_known_distributions() -> None:
    # given a distribution with p = 1/2, 1/4, 1/4
    logp = torch.tensor([[0.5, 0.25, 0.25]]).log().expand(3, 3)
    # when each token's log-odds are taken
    odds = log_odds(logp, torch.tensor([0, 1, 2]))
    # then they are log(p / (1 - p))
    assert torch.allclose(odds, torch.tensor([0.0, -math.log(3), -math.log(3)]), atol=1e-6)


def test_log_odds_keep_their_gradient_where_p_rounds_to_one() -> None:
    # given a token so likely that its log-prob is 0 in float32
    logits = torch.tensor([[40.0, 0.0, 0.0]], requires_grad=True)
    logp = torch.log_softmax(logits, dim=-1)
    assert float(logp[0, 0].detach()) == 0.0
    # when its log-odds are taken
    odds = log_odds(logp, torch.tensor([0]))
    odds.sum().backward()
    # then they are finite (40 - log 2) and move one for one with the token's logit
    assert math.isclose(float(odds.detach()), 40 - math.log(2), rel_tol=1e-5)
    assert logits.grad is not None
    assert math.isclose(float(logits.grad[0, 0]), 1.0, rel_tol=1e-4)


def test_loss_log_odds_match_the_log_odds_of_that_loss() -> None:
    # given losses of tokens with p = 1/4 and p = 0.9
    losses = torch.tensor([math.log(4), -math.log(0.9)])
    # when turned into log-odds
    odds = loss_log_odds(losses)
    # then they are log(p / (1 - p))
    assert torch.allclose(odds, torch.tensor([-math.log(3), math.log(9)]), atol=1e-5)


@pytest.mark.parametrize("bias", [False, True])
def test_the_heads_kl_is_the_kl_over_the_vocabulary_with_its_gradient(bias: bool) -> None:
    # given a linear head, the starting model's states and the trained model's, moved
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=bias)
    start = torch.randn(6, 8)
    moved = (start + 0.3 * torch.randn(6, 8)).requires_grad_(True)
    anchor = _HeadKL(head.weight.detach(), None if head.bias is None else head.bias.detach())
    # when the KL is taken from the kept reference, and over the vocabulary
    cheap = anchor.kl(moved, anchor.reference(start))
    (cheap_grad,) = torch.autograd.grad(cheap, moved)
    before = torch.log_softmax(head(start), dim=-1).detach()
    full = F.kl_div(
        torch.log_softmax(head(moved), dim=-1), before, log_target=True, reduction="batchmean"
    )
    (full_grad,) = torch.autograd.grad(full, moved)
    # then both give the same figure and gradient, and no distance where nothing moved
    assert float(full.detach()) > 0.01
    assert math.isclose(float(cheap.detach()), float(full.detach()), rel_tol=1e-4, abs_tol=1e-6)
    assert torch.allclose(cheap_grad, full_grad, atol=1e-6)
    assert abs(float(anchor.kl(start, anchor.reference(start)))) < 1e-5


def test_the_heads_kl_is_used_only_where_a_linear_head_reads_the_states() -> None:
    # given a GPT-2 with a linear head, and a module without one
    model = GPT2LMHeadModel(GPT2Config(vocab_size=40, n_embd=16, n_layer=1, n_head=2))
    # then the first gets the cheap KL and the second does not
    assert _HeadKL.of(model) is not None
    assert _HeadKL.of(_NoHead()) is None


class _NoHead(torch.nn.Module):
    def get_output_embeddings(self) -> None:
        return None
