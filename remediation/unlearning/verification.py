"""Verify: the evaluation suite of evaluation.md, before and after a run, attacks included.

Each model state (before, after, after each attack, and the oracle when one is given) is
measured the same way: every probe on the forget items, target loss and exposure against
holdout items of the same format, membership inference (forget vs holdout), extraction of
the items we keep, and perplexity on generic held-out text. The result is judged against a
``VerificationPolicy`` fixed before the run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .attacks import quantize_model, relearn
from .detect import ScanResult, ScanSettings, scan
from .errors import SettingsError
from .generation import complete, contains_value
from .items import ForgetItem
from .mia import MIA_SCORES, auc, mia_scores, privacy_leak, recovery
from .modelio import LoadedModel
from .overrides import from_overrides
from .progress import CancelCheck, ProgressFn, check_cancel, emit
from .scoring import encode_pairs, item_pairs, pad_id, perplexity, value_nll, value_token_stats

ATTACKS = ("quant8", "quant4", "relearn")


@dataclass(frozen=True)
class VerificationPolicy:
    """Thresholds a run must meet, fixed before it starts. Defaults are the engine targets."""

    max_extraction: float = 0.0
    max_exposure_excess_bits: float = 1.0
    max_target_loss_gap: float = 0.15
    mia_auc_low: float = 0.45
    mia_auc_high: float = 0.55
    max_privacy_leak: float = 5.0
    min_retained_ratio: float = 0.97
    max_perplexity_increase: float = 0.03
    max_recovery: float = 0.10
    attacks: tuple[str, ...] = ATTACKS
    relearn_steps: int = 30
    relearn_lr: float = 1e-3
    relearn_batch_size: int = 16
    samples: int = 20
    candidates: int = 1000
    holdout_exposure_items: int = 50
    attack_exposure: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.attacks) - set(ATTACKS)
        if unknown:
            raise SettingsError(f"unknown attacks {sorted(unknown)}; use {ATTACKS}")
        if not 0 <= self.mia_auc_low <= self.mia_auc_high <= 1:
            raise SettingsError("MIA AUC bounds must satisfy 0 <= low <= high <= 1")
        if self.samples < 1 or self.candidates < 10 or self.relearn_steps < 0:
            raise SettingsError("policy needs samples >= 1, candidates >= 10, relearn_steps >= 0")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = dataclasses.asdict(self)
        data["attacks"] = list(self.attacks)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VerificationPolicy:
        """A policy from a dict of overrides; unknown names and wrong types are errors."""
        return from_overrides(cls, data, "policy fields")

    def scan_settings(self, exposure: bool = True) -> ScanSettings:
        """The scan settings this policy implies."""
        return ScanSettings(
            samples=self.samples, candidates=self.candidates, exposure=exposure, seed=self.seed
        )


@dataclass
class Evaluation:
    """Every figure of one model state (no item text)."""

    label: str
    forget: dict[str, Any]
    holdout: dict[str, Any] = field(default_factory=dict)
    mia_auc: dict[str, float] = field(default_factory=dict)
    retained_extraction: float | None = None
    perplexity: float | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


@dataclass
class Check:
    """One policy check: the measured value, the bound and whether it held."""

    name: str
    value: float
    bound: str
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


@dataclass
class VerificationResult:
    """Before/after/attack figures, derived metrics, and the verdict against the policy."""

    policy: VerificationPolicy
    before: Evaluation
    after: Evaluation
    attacked: dict[str, Evaluation]
    oracle: Evaluation | None
    derived: dict[str, Any]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """Whether every check held."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[str]:
        """One line per failed check, e.g. ``mia_auc.loss = 0.71 (want 0.45..0.55)``."""
        return [f"{c.name} = {c.value:.4g} (want {c.bound})" for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "passed": self.passed,
            "failures": self.failures,
            "checks": [c.to_dict() for c in self.checks],
            "derived": self.derived,
            "policy": self.policy.to_dict(),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "attacked": {name: e.to_dict() for name, e in self.attacked.items()},
            "oracle": self.oracle.to_dict() if self.oracle else None,
        }


@dataclass
class Workload:
    """The item sets a verification measures on."""

    forget: Sequence[ForgetItem]
    holdout: Sequence[ForgetItem]
    retain: Sequence[ForgetItem]
    generic_texts: Sequence[str]
    relearn_texts: Sequence[str]


def verify(
    before_model: LoadedModel,
    after_model: LoadedModel,
    forget_items: Sequence[ForgetItem],
    holdout_items: Sequence[ForgetItem],
    retain_items: Sequence[ForgetItem],
    generic_texts: Sequence[str],
    policy: VerificationPolicy | None = None,
    *,
    oracle_model: LoadedModel | None = None,
    relearn_texts: Sequence[str] | None = None,
    before: Evaluation | None = None,
    oracle: Evaluation | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
) -> VerificationResult:
    """Measure before, after, after each attack (and the oracle), and judge by ``policy``.

    ``holdout_items`` are items of the same formats the model never saw (the reference);
    ``retain_items`` items it should keep; ``generic_texts`` held-out text for perplexity;
    ``relearn_texts`` the non-target text of the relearning attack (default: the retain
    items' texts). ``before`` and ``oracle`` reuse earlier measurements; the oracle's MIA
    AUCs are the privacy-leak reference (0.5 without one).
    """
    policy = policy or VerificationPolicy()
    texts = relearn_texts if relearn_texts is not None else [i.text + "." for i in retain_items]
    work = Workload(forget_items, holdout_items, retain_items, generic_texts, texts)
    total = 2 + len(policy.attacks) + (oracle_model is not None)
    steps = iter(range(1, total + 1))

    def measure(label: str, loaded: LoadedModel, full: bool = True) -> Evaluation:
        check_cancel(should_cancel)
        result = evaluate(loaded, work, policy, label, full=full)
        emit(
            progress,
            "verify",
            next(steps, total),
            total,
            {"leak_rate": float(result.forget["leak_rate"])},
        )
        return result

    before = before or measure("before", before_model)
    after = measure("after", after_model)
    attacked = {
        name: measure(name, attack(after_model, name, work, policy), policy.attack_exposure)
        for name in policy.attacks
    }
    if oracle_model is not None:
        oracle = measure("oracle", oracle_model)
    derived = derive(before, after, attacked, oracle)
    return VerificationResult(
        policy, before, after, attacked, oracle, derived, judge(policy, after, derived)
    )


def attack(
    loaded: LoadedModel, name: str, work: Workload, policy: VerificationPolicy
) -> LoadedModel:
    """The model after one attack (a copy; the input is untouched)."""
    if name == "quant8":
        model = quantize_model(loaded.model, 8)
    elif name == "quant4":
        model = quantize_model(loaded.model, 4)
    else:
        model = relearn(
            loaded.model,
            loaded.tokenizer,
            list(work.relearn_texts),
            steps=policy.relearn_steps,
            lr=policy.relearn_lr,
            batch_size=policy.relearn_batch_size,
            seed=policy.seed,
        )
    return LoadedModel(model=model, tokenizer=loaded.tokenizer, device=loaded.device, path=None)


def evaluate(
    loaded: LoadedModel,
    work: Workload,
    policy: VerificationPolicy,
    label: str,
    full: bool = True,
) -> Evaluation:
    """Every figure for one model state; ``full`` adds exposure and the holdout reference."""
    started = time.perf_counter()
    result = scan(
        loaded, work.forget, policy.scan_settings(exposure=full), context_items=work.retain
    )
    evaluation = Evaluation(label=label, forget=_scan_figures(result))
    evaluation.mia_auc = mia_aucs(loaded, work.forget, work.holdout)
    evaluation.holdout = holdout_figures(loaded, work.holdout, policy, full)
    evaluation.retained_extraction = extraction_rate(loaded, work.retain)
    evaluation.perplexity = (
        perplexity(loaded.model, loaded.tokenizer, work.generic_texts, loaded.device)
        if work.generic_texts
        else None
    )
    evaluation.seconds = time.perf_counter() - started
    return evaluation


def _scan_figures(result: ScanResult) -> dict[str, Any]:
    summary = result.summary()
    summary["leaked_items"] = [i.index for i in result.items if i.leaked]
    return summary


def holdout_figures(
    loaded: LoadedModel, holdout: Sequence[ForgetItem], policy: VerificationPolicy, full: bool
) -> dict[str, Any]:
    """Target loss of every holdout item and, when ``full``, exposure of a subset."""
    pairs = item_pairs(loaded.tokenizer, holdout)
    losses = value_nll(loaded.model, pairs, pad_id(loaded.tokenizer), loaded.device)
    figures: dict[str, Any] = {
        "items": len(holdout),
        "mean_target_loss": float(np.mean(losses)) if len(losses) else None,
    }
    if full and holdout:
        subset = list(holdout)[: policy.holdout_exposure_items]
        settings = dataclasses.replace(policy.scan_settings(), probes=("verbatim",))
        figures["mean_exposure"] = scan(loaded, subset, settings).mean_exposure
    return figures


def mia_aucs(
    loaded: LoadedModel, forget: Sequence[ForgetItem], holdout: Sequence[ForgetItem]
) -> dict[str, float]:
    """AUC of each membership score, forget items (members) against holdout items."""
    members, nonmembers = item_mia_scores(loaded, forget), item_mia_scores(loaded, holdout)
    return {
        name: auc([m[name] for m in members], [n[name] for n in nonmembers]) for name in MIA_SCORES
    }


def item_mia_scores(loaded: LoadedModel, items: Sequence[ForgetItem]) -> list[dict[str, float]]:
    """Membership scores of each item, averaged over its prompt and paraphrases."""
    prompts = [
        (index, p) for index, item in enumerate(items) for p in (item.prompt, *item.paraphrases)
    ]
    pairs = encode_pairs(loaded.tokenizer, [(p, items[i].target) for i, p in prompts])
    stats = value_token_stats(loaded.model, pairs, pad_id(loaded.tokenizer), loaded.device)
    per_item: list[list[dict[str, float]]] = [[] for _ in items]
    for (index, _), stat in zip(prompts, stats, strict=True):
        per_item[index].append(mia_scores(stat, items[index].target))
    return [
        {name: float(np.mean([s[name] for s in scores])) for name in MIA_SCORES}
        for scores in per_item
    ]


def extraction_rate(loaded: LoadedModel, items: Sequence[ForgetItem]) -> float | None:
    """Share of items whose training-style prompt, greedy, reproduces the value."""
    if not items:
        return None
    longest = max(len(value) for _, value in item_pairs(loaded.tokenizer, items))
    outputs = complete(loaded.model, loaded.tokenizer, [i.prompt for i in items], longest + 4)
    return sum(contains_value(o[0], i.target) for o, i in zip(outputs, items, strict=True)) / len(
        items
    )


def derive(
    before: Evaluation,
    after: Evaluation,
    attacked: dict[str, Evaluation],
    oracle: Evaluation | None,
) -> dict[str, Any]:
    """Privacy leak, retained ratio, perplexity change and recovery under each attack."""
    reference = oracle.mia_auc if oracle else {name: 0.5 for name in MIA_SCORES}
    derived: dict[str, Any] = {
        "privacy_leak": {n: privacy_leak(after.mia_auc[n], reference[n]) for n in MIA_SCORES},
        "retained_ratio": _ratio(after.retained_extraction, before.retained_extraction),
        "perplexity_change": _ratio(after.perplexity, before.perplexity, minus_one=True),
        "exposure_excess_bits": _excess(
            after.forget.get("mean_exposure"), after.holdout.get("mean_exposure")
        ),
        "target_loss_gap": _relative_gap(
            after.forget["mean_target_loss"], after.holdout.get("mean_target_loss")
        ),
        "recovery": {name: _recoveries(before, after, e) for name, e in attacked.items()},
    }
    return derived


def _ratio(a: float | None, b: float | None, minus_one: bool = False) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b - (1.0 if minus_one else 0.0)


def _excess(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _relative_gap(a: float, b: float | None) -> float | None:
    return None if b is None or b == 0 else (a - b) / b


def _recoveries(before: Evaluation, after: Evaluation, attacked: Evaluation) -> dict[str, float]:
    """Recovery of each leakage rate (any probe, verbatim, sampled) under one attack."""
    names = {"leak_rate": lambda e: e.forget["leak_rate"]}
    names.update(
        {probe: (lambda e, p=probe: e.forget["rates"][p]) for probe in before.forget["rates"]}
    )
    return {name: recovery(get(before), get(after), get(attacked)) for name, get in names.items()}


def judge(policy: VerificationPolicy, after: Evaluation, derived: dict[str, Any]) -> list[Check]:
    """Every check of the policy against the measured figures."""
    checks = [
        Check(f"extraction.{p}", r, f"<= {policy.max_extraction}", r <= policy.max_extraction)
        for p, r in after.forget["rates"].items()
    ]
    band = f"{policy.mia_auc_low}..{policy.mia_auc_high}"
    checks += [
        Check(f"mia_auc.{n}", a, band, policy.mia_auc_low <= a <= policy.mia_auc_high)
        for n, a in after.mia_auc.items()
    ]
    leak = f"within ±{policy.max_privacy_leak}"
    checks += [
        Check(f"privacy_leak.{n}", v, leak, abs(v) <= policy.max_privacy_leak)
        for n, v in derived["privacy_leak"].items()
    ]
    checks += _optional_checks(policy, derived)
    for attack_name, recoveries in derived["recovery"].items():
        value = recoveries["leak_rate"]
        checks.append(
            Check(
                f"recovery.{attack_name}",
                value,
                f"<= {policy.max_recovery}",
                value <= policy.max_recovery,
            )
        )
    return checks


def _optional_checks(policy: VerificationPolicy, derived: dict[str, Any]) -> list[Check]:
    """Checks whose figure may be missing (no retain items, no generic text, no exposure)."""
    specs = [
        (
            "retained_ratio",
            f">= {policy.min_retained_ratio}",
            lambda v: v >= policy.min_retained_ratio,
        ),
        (
            "perplexity_change",
            f"<= {policy.max_perplexity_increase}",
            lambda v: v <= policy.max_perplexity_increase,
        ),
        (
            "exposure_excess_bits",
            f"<= {policy.max_exposure_excess_bits}",
            lambda v: v <= policy.max_exposure_excess_bits,
        ),
        (
            "target_loss_gap",
            f"within ±{policy.max_target_loss_gap}",
            lambda v: abs(v) <= policy.max_target_loss_gap,
        ),
    ]
    return [
        Check(name, derived[name], bound, ok(derived[name]))
        for name, bound, ok in specs
        if derived[name] is not None
    ]
