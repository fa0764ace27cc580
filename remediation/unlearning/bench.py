"""The engine benchmark: every method against retraining from scratch, on the demo model.

For each size (1 and 10 people by default) the demo model forgets every value of that many
trained people with every method; the oracle is the model retrained without them. Each
result goes through the full verification (probes, exposure, MIA, retained knowledge,
perplexity, quantization and relearning attacks). One table is printed and everything is
written as JSON (``var/bench/engine.json``).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .demo import DemoData, build_demo_model, items_of, load_demo_data, records_of, retrain_without
from .demo.corpus import Person
from .errors import SettingsError
from .items import ForgetItem
from .methods import DEFAULT_METHOD, METHODS, canonical_name
from .modelio import LoadedModel, load_model
from .progress import ProgressFn
from .runner import remediate
from .verification import (
    Evaluation,
    VerificationPolicy,
    VerificationResult,
    Workload,
    evaluate,
    verify,
)

SECOND_ORACLE = "retrain, another seed"


@dataclass(frozen=True)
class BenchConfig:
    """What the benchmark runs: sizes, methods, the policy, per-method setting overrides."""

    sizes: tuple[int, ...] = (1, 10)
    methods: tuple[str, ...] = tuple(METHODS)
    # 25 holdout items are enough for the exposure reference, and exposure is the
    # costliest figure (1000 candidates per item).
    policy: VerificationPolicy = field(
        default_factory=lambda: VerificationPolicy(holdout_exposure_items=25)
    )
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 0
    # A second retraining (another seed) checked against the first: the noise floor.
    retrain_twice: bool = True

    @classmethod
    def from_cli(cls, quick: bool, methods: str | None, sizes: str | None) -> BenchConfig:
        """The config for the CLI flags (``--quick``: size 1 only, lighter probes)."""
        chosen = tuple(canonical_name(m) for m in methods.split(",")) if methods else tuple(METHODS)
        unknown = [m for m in chosen if m not in METHODS]
        if unknown:
            raise SettingsError(f"unknown methods: {', '.join(unknown)}")
        counts = tuple(int(s) for s in sizes.split(",")) if sizes else ((1,) if quick else (1, 10))
        policy = VerificationPolicy(holdout_exposure_items=20 if quick else 25)
        return cls(sizes=counts, methods=chosen, policy=policy, retrain_twice=not quick)


@dataclass
class BenchRow:
    """One line of the table: a method (or the oracle) at one size."""

    people: int
    method: str
    seconds: float
    oracle_seconds: float
    result: VerificationResult

    @property
    def time_fraction(self) -> float:
        """Run time as a share of retraining from scratch."""
        return self.seconds / self.oracle_seconds if self.oracle_seconds else float("nan")

    def figures(self) -> dict[str, Any]:
        """The table's figures, by column name."""
        after, derived = self.result.after, self.result.derived
        rates = after.forget["rates"]
        recovery = derived["recovery"]
        aucs = after.mia_auc.values()
        return {
            "people": self.people,
            "method": self.method,
            "time_s": self.seconds,
            "time_vs_oracle": self.time_fraction,
            "verbatim": rates.get("verbatim", 0.0),
            "probes": max(rates.get(p, 0.0) for p in ("paraphrase", "jailbreak", "fewshot")),
            "sampled": rates.get("sampled", 0.0),
            "exposure": after.forget.get("mean_exposure"),
            "exposure_holdout": after.holdout.get("mean_exposure"),
            "loss_gap": derived["target_loss_gap"],
            "mia_auc_min": min(aucs),
            "mia_auc_max": max(aucs),
            "privacy_leak": derived["privacy_leak"]["min_k"],
            "retained": derived["retained_ratio"],
            "ppl_change": derived["perplexity_change"],
            **{f"rec_{name}": recovery[name]["leak_rate"] for name in recovery},
            "checks_passed": sum(c.passed for c in self.result.checks),
            "checks": len(self.result.checks),
        }


def run_bench(
    model_dir: str | Path,
    out_path: str | Path,
    config: BenchConfig | None = None,
    progress: ProgressFn | None = None,
) -> str:
    """Run the benchmark, write the JSON report, and return the table as Markdown."""
    config = config or BenchConfig()
    started = time.perf_counter()
    build_seconds = _ensure_demo(Path(model_dir), progress)
    loaded, data = load_model(model_dir), load_demo_data(model_dir)
    rows: list[BenchRow] = []
    table = render_table(rows)
    for size in config.sizes:
        rows.extend(bench_size(loaded, Path(model_dir), data, size, config, progress))
        # Written after every size, so a long run that stops still leaves its figures.
        table = render_table(rows)
        seconds = time.perf_counter() - started
        _write_report(Path(out_path), rows, table, config, build_seconds, seconds)
    return table


def _write_report(
    out: Path,
    rows: list[BenchRow],
    table: str,
    config: BenchConfig,
    build_seconds: float | None,
    seconds: float,
) -> None:
    report = {
        "machine": machine(),
        "config": _config_dict(config),
        "demo_build_seconds": build_seconds,
        "total_seconds": seconds,
        "rows": [row.figures() for row in rows],
        "results": [{"people": r.people, "method": r.method, **r.result.to_dict()} for r in rows],
        "table": table,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=_json_default) + "\n", encoding="utf-8")


def _ensure_demo(model_dir: Path, progress: ProgressFn | None) -> float | None:
    if (model_dir / "config.json").is_file():
        return None
    started = time.perf_counter()
    build_demo_model(model_dir, progress=progress)
    return time.perf_counter() - started


def forget_people(data: DemoData, size: int) -> list[Person]:
    """The first ``size`` trained people (the corpus shuffles them, so no choice is made)."""
    if not 1 <= size < len(data.trained):
        raise SettingsError(f"can forget 1..{len(data.trained) - 1} demo people, not {size}")
    return data.trained[:size]


def bench_size(
    loaded: LoadedModel,
    model_dir: Path,
    data: DemoData,
    size: int,
    config: BenchConfig,
    progress: ProgressFn | None,
) -> list[BenchRow]:
    """Oracle and every method for one number of forgotten people (and, with
    ``retrain_twice``, a second retraining judged like a method: against the first)."""
    people = forget_people(data, size)
    others = data.others(people)
    work = Workload(
        items_of(people),
        items_of(data.holdout),
        items_of(others),
        data.generic_heldout,
        records_of(others),
    )
    before = evaluate(loaded, work, config.policy, "before")
    names = [p.name for p in people]
    oracle, oracle_seconds = _timed_retrain(model_dir, names, progress)
    oracle_result = _verify(loaded, oracle, work, config.policy, before, None, progress)
    rows = [BenchRow(size, "oracle (retrain)", oracle_seconds, oracle_seconds, oracle_result)]
    if config.retrain_twice:
        again, seconds = _timed_retrain(model_dir, names, progress, seed=data.seed + 1)
        second = _verify(loaded, again, work, config.policy, before, oracle_result.after, progress)
        rows.append(BenchRow(size, SECOND_ORACLE, seconds, oracle_seconds, second))
    # Records and generic text to keep, plus the kept items themselves, so methods that
    # can use where retained values sit (the default) know it.
    retain: list[str | ForgetItem] = [*data.retain_texts(people), *work.retain]
    for method in config.methods:
        started = time.perf_counter()
        settings = config.settings.get(method)
        result = remediate(
            loaded, work.forget, retain, method, settings, seed=config.seed, progress=progress
        )
        seconds = time.perf_counter() - started
        verification = _verify(
            loaded, result.loaded, work, config.policy, before, oracle_result.after, progress
        )
        rows.append(BenchRow(size, method, seconds, oracle_seconds, verification))
    return rows


def _timed_retrain(
    model_dir: Path, names: list[str], progress: ProgressFn | None, seed: int | None = None
) -> tuple[LoadedModel, float]:
    """The demo model retrained without ``names`` (``seed``: the model's own if None),
    and the seconds it took."""
    started = time.perf_counter()
    model = retrain_without(model_dir, names, progress=progress, seed=seed)
    return model, time.perf_counter() - started


def _verify(
    before_model: LoadedModel,
    after_model: LoadedModel,
    work: Workload,
    policy: VerificationPolicy,
    before: Evaluation,
    oracle: Evaluation | None,
    progress: ProgressFn | None,
) -> VerificationResult:
    return verify(
        before_model,
        after_model,
        work.forget,
        work.holdout,
        work.retain,
        work.generic_texts,
        policy,
        relearn_texts=work.relearn_texts,
        before=before,
        oracle=oracle,
        progress=progress,
    )


COLUMNS = (
    ("people", "people", "{}"),
    ("method", "method", "{}"),
    ("time_s", "time s", "{:.1f}"),
    ("time_vs_oracle", "time/oracle", "{:.1%}"),
    ("verbatim", "verbatim", "{:.0%}"),
    ("probes", "probes", "{:.0%}"),
    ("sampled", "sampled", "{:.0%}"),
    ("exposure", "exposure bits", "{:.2f}"),
    ("exposure_holdout", "holdout bits", "{:.2f}"),
    ("loss_gap", "loss vs holdout", "{:+.0%}"),
    ("mia_auc_min", "MIA AUC min", "{:.2f}"),
    ("mia_auc_max", "MIA AUC max", "{:.2f}"),
    ("privacy_leak", "PrivLeak", "{:+.1f}"),
    ("retained", "retained", "{:.0%}"),
    ("ppl_change", "ppl", "{:+.1%}"),
    ("rec_quant8", "rec 8-bit", "{:.0%}"),
    ("rec_quant4", "rec 4-bit", "{:.0%}"),
    ("rec_relearn", "rec relearn", "{:.0%}"),
    ("checks_passed", "checks", "{}"),
)


def render_table(rows: Sequence[BenchRow]) -> str:
    """The rows as one Markdown table."""
    header = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    lines = [header, rule]
    for row in rows:
        figures = row.figures()
        cells = [_cell(figures.get(key), fmt) for key, _, fmt in COLUMNS]
        cells[-1] = f"{figures['checks_passed']}/{figures['checks']}"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def machine() -> dict[str, Any]:
    """The machine the numbers come from."""
    return {
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpu_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "default_method": DEFAULT_METHOD,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _config_dict(config: BenchConfig) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    data["policy"] = config.policy.to_dict()
    return data


def _json_default(value: Any) -> Any:
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
