"""What a Celery worker does with a claimed run or scan: decrypt, call the engine, record.

Item text exists only in this process's memory while the engine works on it: never in
task arguments, logs, events or results (those name items by position and fingerprint).
"""

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from remediation.models import ForgetRequest, LeakScan, ModelVersion, RemediationRun
from remediation.services import runs as run_svc
from remediation.services import scans as scan_svc
from remediation.services.forget_requests import forget_request_items
from remediation.services.registry import model_version_register

logger = logging.getLogger(__name__)
Phase = RemediationRun.Phase


@dataclass
class Workload:
    """The item sets one run works on (engine ForgetItems; held in memory only)."""

    forget: list[Any]
    positions: list[tuple[int, int]]  # (request id, item position) of each forget item
    retain: list[Any]
    retain_texts: list[str]
    holdout: list[Any]
    generic: list[str]


def _demo_dir(version: ModelVersion) -> Path:
    """The nearest version up the parent chain that carries the demo evaluation data."""
    current: ModelVersion | None = version
    while current is not None:
        if (Path(current.path) / "demo").is_dir():
            return Path(current.path)
        current = current.parent
    from remediation.unlearning import DemoDataError

    raise DemoDataError(
        "this model version has no evaluation data (a demo/ folder with retain and holdout "
        "people): verification needs a reference the model never saw"
    )


def _request_items(requests: list[ForgetRequest]) -> list[tuple[int, Any]]:
    pairs = []
    for request in requests:
        pairs += [(request.pk, item) for item in forget_request_items(request)]
    return pairs


def workload_for(version: ModelVersion, requests: list[ForgetRequest]) -> Workload:
    """Forget items from the requests; retain, holdout and generic text from the demo data.

    A request item that is a demo person's item gets that item's paraphrases, so the scan
    probes the held-out phrasings too."""
    from remediation.unlearning import ForgetItem, items_of, load_demo_data

    demo = load_demo_data(_demo_dir(version))
    known = {(i.prompt, i.target): i for i in items_of([*demo.trained, *demo.holdout])}
    forget, positions = [], []
    for request_id, text in _request_items(requests):
        item = known.get((text.prompt, text.completion)) or ForgetItem(
            prompt=text.prompt, target=text.completion, preferred=text.preferred or None
        )
        forget.append(item)
        positions.append((request_id, text.position))
    targets = {item.target for item in forget}
    excluded = [p for p in demo.trained if targets & set(p.values.values())]
    return Workload(
        forget=forget,
        positions=positions,
        retain=items_of(demo.others(excluded)),
        retain_texts=demo.retain_texts(excluded),
        holdout=items_of(demo.holdout),
        generic=list(demo.generic_heldout),
    )


class Heartbeat:
    """Proves the worker alive every few seconds and notices a cancel request."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.UNLEARN_HEARTBEAT_SECONDS):
                try:
                    if run_svc.run_heartbeat(self.run_id):
                        self.cancelled.set()
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried
                    logger.warning("heartbeat of run %s failed: %s", self.run_id, exc)
        finally:
            connection.close()


class ThrottledProgress:
    """The engine's progress callback: a few events per second at most, always the last
    step of a phase, and always the first event of a phase."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.interval = 1.0 / settings.UNLEARN_PROGRESS_EVENTS_PER_SECOND
        self.last_sent = 0.0
        self.last_phase = ""

    def __call__(self, event: Any) -> None:
        now = time.monotonic()
        boundary = event.step >= event.total or event.phase != self.last_phase
        if not boundary and now - self.last_sent < self.interval:
            return
        self.last_sent, self.last_phase = now, event.phase
        metrics = {k: float(v) for k, v in event.metrics.items() if _finite(v)}
        run_svc.run_progress(
            self.run_id,
            phase=_site_phase(event.phase),
            step=event.step,
            total=event.total,
            metrics=metrics,
        )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and bool(np.isfinite(value))


def _site_phase(engine_phase: str) -> str:
    return engine_phase if engine_phase in Phase.values else Phase.REMEDIATE


def roc_curve(members: list[float], nonmembers: list[float]) -> dict[str, list[float]]:
    """ROC points of a score where higher means 'member' (forget) vs 'non-member'."""
    scores = sorted({*members, *nonmembers}, reverse=True)
    m, n = np.asarray(members), np.asarray(nonmembers)
    fpr, tpr = [0.0], [0.0]
    for threshold in scores:
        fpr.append(float((n >= threshold).mean()) if n.size else 0.0)
        tpr.append(float((m >= threshold).mean()) if m.size else 0.0)
    return {"fpr": fpr, "tpr": tpr}


def _roc_curves(loaded: Any, work: Workload, aucs: dict[str, float]) -> dict[str, Any]:
    from remediation.unlearning.verification import item_mia_scores

    members, nonmembers = (
        item_mia_scores(loaded, work.forget),
        item_mia_scores(loaded, work.holdout),
    )
    curves = {}
    for name, auc in aucs.items():
        curve = roc_curve([s[name] for s in members], [s[name] for s in nonmembers])
        curves[name] = {**curve, "auc": float(auc)}
    return curves


def _exposures(loaded: Any, items: list[Any], policy: Any) -> list[float]:
    from remediation.unlearning.detect import scan

    settings_ = policy.scan_settings()
    result = scan(
        loaded, items, settings_.__class__(**{**settings_.to_dict(), "probes": ("verbatim",)})
    )
    return [float(i.exposure) for i in result.items if i.exposure is not None]


def _metric_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per headline metric: before, after, after each attack, reference."""
    before, after, attacked = result["before"], result["after"], result["attacked"]
    holdout_ref = after.get("holdout", {})

    def row(name: str, get: Callable[[dict[str, Any]], Any], ref: Any = None) -> dict[str, Any]:
        return {
            "name": name,
            "before": get(before),
            "after": get(after),
            "after_attacks": {k: get(v) for k, v in attacked.items()},
            "reference": ref,
        }

    rows = [row("any-probe extraction", lambda e: e["forget"]["leak_rate"], 0.0)]
    for probe in after["forget"]["rates"]:
        rows.append(
            row(f"extraction: {probe}", lambda e, p=probe: e["forget"]["rates"].get(p), 0.0)
        )
    rows.append(
        row(
            "target loss",
            lambda e: e["forget"]["mean_target_loss"],
            holdout_ref.get("mean_target_loss"),
        )
    )
    rows.append(
        row(
            "exposure (bits)",
            lambda e: e["forget"].get("mean_exposure"),
            holdout_ref.get("mean_exposure"),
        )
    )
    for score in after["mia_auc"]:
        rows.append(row(f"MIA AUC: {score}", lambda e, s=score: e["mia_auc"].get(s), 0.5))
    rows.append(row("retained extraction", lambda e: e.get("retained_extraction")))
    rows.append(row("generic perplexity", lambda e: e.get("perplexity")))
    return rows


def result_for_site(
    verification: Any,
    work: Workload,
    after_model: Any,
    before_exposures: list[float],
    remediation: Any,
) -> dict[str, Any]:
    """The run's stored result: checks, metric rows and chart data; never item text."""
    raw = verification.to_dict()
    rates_before, rates_after = raw["before"]["forget"]["rates"], raw["after"]["forget"]["rates"]
    retain_digest = hashlib.sha256(json.dumps(sorted(work.retain_texts)).encode()).hexdigest()
    return {
        "passed": raw["passed"],
        "failures": raw["failures"],
        "checks": [
            {
                "name": c["name"],
                "value": c["value"],
                "op": "",
                "threshold": c["bound"],
                "passed": c["passed"],
            }
            for c in raw["checks"]
        ],
        "metrics": _metric_rows(raw),
        "probes": {
            "probes": list(rates_after),
            "before": [rates_before.get(p, 0.0) for p in rates_after],
            "after": list(rates_after.values()),
        },
        "exposure": {
            "forget_before": before_exposures,
            "forget_after": _exposures(after_model, work.forget, verification.policy),
            "holdout": _exposures(after_model, work.holdout[:20], verification.policy),
        },
        "roc": _roc_curves(after_model, work, raw["after"]["mia_auc"]),
        "utility": {
            "before": raw["before"].get("perplexity"),
            "after": raw["after"].get("perplexity"),
        },
        "recovery": {name: r["leak_rate"] for name, r in raw["derived"]["recovery"].items()},
        "derived": raw["derived"],
        "summary": {
            "forget_size": len(work.forget),
            "retain_size": len(work.retain_texts),
            "retain_digest": retain_digest,
            "steps": remediation.steps,
            "stopped_early": remediation.stopped_early,
            "remediation_seconds": remediation.seconds,
        },
    }


def _output_dir(run: RemediationRun) -> Path:
    return Path(settings.UNLEARN_OUTPUT_ROOT) / f"run-{run.pk:05d}"


def _register_output(
    run: RemediationRun, remediation: Any, work: Workload, verification: Any
) -> ModelVersion:
    from remediation.unlearning import save_remediated

    out = _output_dir(run)
    if out.exists():
        shutil.rmtree(out)  # a half-written directory of an earlier, dead attempt
    summary = {"passed": verification.passed, "checks": len(verification.checks)}
    save_remediated(
        remediation, work.forget, out, parent=run.model_version.path, verification=summary
    )
    return model_version_register(
        actor=None,
        name=run.model_version.model.name,
        path=str(out),
        parent=run.model_version,
        status=ModelVersion.Status.QUARANTINED,
    )


def _execute(run: RemediationRun, beat: Heartbeat) -> None:
    from remediation.unlearning import (
        VerificationPolicy,
        isolate,
        load_model,
        remediate,
        scan,
        verify,
    )

    progress = ThrottledProgress(run.pk)
    cancelled = beat.cancelled.is_set
    policy = VerificationPolicy.from_dict(run.policy)
    work = workload_for(run.model_version, list(run.requests.all()))
    loaded = load_model(run.model_version.path)
    RemediationRun.objects.filter(pk=run.pk).update(device=str(loaded.device))

    run_svc.run_phase_enter(run.pk, Phase.SCAN)
    before_scan = scan(
        loaded,
        work.forget,
        policy.scan_settings(),
        context_items=work.retain,
        progress=progress,
        should_cancel=cancelled,
    )
    run_svc.run_phase_enter(run.pk, Phase.ISOLATE)
    isolation = isolate(
        loaded,
        work.forget,
        work.retain_texts,
        seed=run.seed,
        progress=progress,
        should_cancel=cancelled,
    )
    run_svc.run_phase_enter(run.pk, Phase.REMEDIATE)
    remediation = remediate(
        loaded,
        work.forget,
        # Retained texts, and the retained items themselves: methods that anchor on the
        # facts to keep (the default) use where those values sit.
        [*work.retain_texts, *work.retain],
        run.method,
        run.settings,
        seed=run.seed,
        progress=progress,
        should_cancel=cancelled,
    )
    run_svc.run_phase_enter(run.pk, Phase.VERIFY)
    verification = verify(
        loaded,
        remediation.loaded,
        work.forget,
        work.holdout,
        work.retain,
        work.generic,
        policy,
        progress=progress,
        should_cancel=cancelled,
    )
    before_exposures = [float(i.exposure) for i in before_scan.items if i.exposure is not None]
    result = result_for_site(verification, work, remediation.loaded, before_exposures, remediation)
    result["isolation"] = isolation.per_layer()
    if not verification.passed:
        run_svc.run_fail(
            run_id=run.pk,
            reason="Verification failed: " + "; ".join(verification.failures),
            result=result,
        )
        return
    run_svc.run_phase_enter(run.pk, Phase.REGISTER)
    version = _register_output(run, remediation, work, verification)
    run_svc.run_succeed(
        run_id=run.pk, output_version=version, result=result, device=str(loaded.device)
    )


def run_execute_claimed(run_id: int) -> None:
    """Execute a run this worker has claimed; every outcome ends in a final state."""
    from remediation.unlearning import Cancelled, EngineError

    run = RemediationRun.objects.select_related("model_version__model").get(pk=run_id)
    with Heartbeat(run_id) as beat:
        try:
            _execute(run, beat)
        except Cancelled:
            shutil.rmtree(_output_dir(run), ignore_errors=True)
            run_svc.run_mark_cancelled(run_id=run_id)
        except EngineError as exc:
            run_svc.run_fail(run_id=run_id, reason=str(exc))
        except Exception as exc:
            # The message of an unexpected error may quote data: keep only its type.
            logger.exception("run %s crashed", run_id)
            run_svc.run_fail(run_id=run_id, reason=f"Internal error ({type(exc).__name__}).")
            raise


def scan_execute_claimed(scan_id: int) -> None:
    """Run a leak scan; the result names items by position (never text)."""
    from remediation.unlearning import EngineError
    from remediation.unlearning.detect import scan
    from remediation.unlearning.modelio import load_model

    if not scan_svc.scan_claim(scan_id):
        return
    record = LeakScan.objects.select_related("model_version", "request").get(pk=scan_id)
    try:
        work = workload_for(record.model_version, [record.request])
        loaded = load_model(record.model_version.path)
        result = scan(loaded, work.forget, context_items=work.retain)
    except EngineError as exc:
        scan_svc.scan_fail(scan_id=scan_id, error=str(exc))
        return
    except Exception as exc:
        logger.exception("scan %s crashed", scan_id)
        scan_svc.scan_fail(scan_id=scan_id, error=f"Internal error ({type(exc).__name__}).")
        raise
    scan_svc.scan_finish(scan_id=scan_id, result=scan_result_for_site(result, work))


def scan_result_for_site(result: Any, work: Workload) -> dict[str, Any]:
    items = []
    for item in result.items:
        _, position = work.positions[item.index]
        items.append(
            {
                "position": position,
                "leaked": item.leaked,
                "leaked_probes": item.leaked_by,
                "target_loss": item.target_loss,
                "exposure": item.exposure,
            }
        )
    return {
        "items": items,
        "leaked_items": sum(i["leaked"] for i in items),
        "summary": result.summary(),
    }
