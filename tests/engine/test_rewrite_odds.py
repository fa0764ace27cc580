"""The default method's distance to a level: log-odds, exact where p rounds to 1."""

from __future__ import annotations

import math

import torch

from remediation.unlearning.methods.rewrite import log_odds, loss_log_odds


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
