"""Command line: ``python -m remediation.unlearning demo-model | scan | run | verify | bench``.

Errors a user can cause (a bad model directory, a bad items file, an unknown method, bad
settings) print one line to stderr and exit with status 2; nothing prints item text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import EngineError
from .progress import TqdmProgress
from .runtime import configure_threads

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_threads(args.threads)
    _quiet_transformers()
    progress = TqdmProgress(disable=args.quiet)
    try:
        return int(args.handler(args, progress))
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        progress.close()


def _quiet_transformers() -> None:
    """Our own bars and one-line errors only: no loading bars or advice from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m remediation.unlearning",
        description="Unlearning engine: detect, isolate, remediate and verify.",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: all available cores)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo_model(commands)
    _add_demo_items(commands)
    _add_scan(commands)
    _add_run(commands)
    _add_verify(commands)
    _add_bench(commands)
    return parser


def _add_demo_model(commands: Any) -> None:
    cmd = commands.add_parser(
        "demo-model",
        help="build the demo model (synthetic people, small GPT-2)",
        description="Build the deterministic demo model and its data into OUT.",
    )
    cmd.add_argument("out", type=Path, help="directory to create (must not exist or be empty)")
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument(
        "--steps", type=int, default=None, help="training steps (default: the recipe's)"
    )
    cmd.set_defaults(handler=_cmd_demo_model)


def _add_demo_items(commands: Any) -> None:
    cmd = commands.add_parser(
        "demo-items",
        help="write demo people's items as a JSONL items file",
        description="Write the items of demo people (first N trained, or by name) to a JSONL file.",
    )
    cmd.add_argument("model", type=Path, help="demo model directory")
    cmd.add_argument("out", type=Path, help="JSONL file to write")
    group = cmd.add_mutually_exclusive_group()
    group.add_argument(
        "--people", type=int, default=1, help="the first N trained people (default 1)"
    )
    group.add_argument(
        "--person", action="append", default=None, help="a demo person by name (repeatable)"
    )
    cmd.add_argument(
        "--holdout", action="store_true", help="take holdout (never trained) people instead"
    )
    cmd.set_defaults(handler=_cmd_demo_items)


def _add_scan(commands: Any) -> None:
    cmd = commands.add_parser(
        "scan",
        help="leak scan: which probes extract the items",
        description="Run every probe of evaluation.md on the items and report per item (by index).",
    )
    cmd.add_argument("model", type=Path, help="model directory (safetensors)")
    cmd.add_argument(
        "items", type=Path, help="items file: JSONL or CSV with prompt, target[, preferred]"
    )
    cmd.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    cmd.add_argument("--samples", type=int, default=20)
    cmd.add_argument("--candidates", type=int, default=1000)
    cmd.add_argument("--no-exposure", action="store_true", help="skip exposure (faster)")
    cmd.add_argument("--seed", type=int, default=0)
    cmd.set_defaults(handler=_cmd_scan)


def _add_run(commands: Any) -> None:
    cmd = commands.add_parser(
        "run",
        help="remediate: forget the items, save a new version",
        description="Run a method on the model and save the result as a new version directory.",
    )
    cmd.add_argument("model", type=Path, help="model directory (safetensors)")
    cmd.add_argument("items", type=Path, help="items file to forget (JSONL or CSV)")
    cmd.add_argument(
        "out", type=Path, help="directory for the new version (must not exist or be empty)"
    )
    cmd.add_argument(
        "--method",
        default="rewrite",
        help="method name (default rewrite; baselines: grad_ascent, grad_diff, npo, simnpo, rmu)",
    )
    cmd.add_argument("--settings", default=None, help="JSON object of method settings")
    cmd.add_argument(
        "--retain",
        type=Path,
        default=None,
        help="text file (one text per line) or items file to keep; default: demo data",
    )
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument(
        "--hash-key-file",
        type=Path,
        default=None,
        help="key for the keyed item hashes in the model card",
    )
    cmd.set_defaults(handler=_cmd_run)


def _add_verify(commands: Any) -> None:
    cmd = commands.add_parser(
        "verify",
        help="full evaluation before/after, with attacks",
        description="Measure both models and judge the result against a verification policy.",
    )
    cmd.add_argument("before", type=Path, help="model directory before remediation")
    cmd.add_argument("after", type=Path, help="model directory after remediation")
    cmd.add_argument("items", type=Path, help="the forgotten items (JSONL or CSV)")
    cmd.add_argument(
        "--holdout",
        type=Path,
        default=None,
        help="items file of never-seen items; default: demo holdout people",
    )
    cmd.add_argument(
        "--retain",
        type=Path,
        default=None,
        help="items file of items to keep; default: demo people not forgotten",
    )
    cmd.add_argument(
        "--generic",
        type=Path,
        default=None,
        help="text file of held-out generic text; default: demo generic text",
    )
    cmd.add_argument(
        "--policy", default=None, help="JSON object overriding VerificationPolicy fields"
    )
    cmd.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    cmd.set_defaults(handler=_cmd_verify)


def _add_bench(commands: Any) -> None:
    cmd = commands.add_parser(
        "bench",
        help="benchmark every method against the retrained oracle",
        description=(
            "Forget 1 and 10 demo people with every method, compare with retraining "
            "from scratch, write var/bench/engine.json."
        ),
    )
    cmd.add_argument(
        "--model",
        type=Path,
        default=Path("var/bench/demo-model"),
        help="demo model directory (built if missing)",
    )
    cmd.add_argument("--out", type=Path, default=Path("var/bench/engine.json"))
    cmd.add_argument(
        "--quick", action="store_true", help="fewer probes, samples and candidates; skip forget-10"
    )
    cmd.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    cmd.add_argument(
        "--sizes", default=None, help="comma-separated numbers of people to forget (default 1,10)"
    )
    cmd.set_defaults(handler=_cmd_bench)


def _cmd_demo_model(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .demo import DemoRecipe, build_demo_model

    recipe = DemoRecipe() if args.steps is None else DemoRecipe(steps=args.steps)
    out = build_demo_model(args.out, seed=args.seed, recipe=recipe, progress=progress)
    print(f"demo model written to {out}")
    return 0


def _cmd_demo_items(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .demo import items_of, load_demo_data
    from .items import write_items_file

    data = load_demo_data(args.model)
    pool = data.holdout if args.holdout else data.trained
    people = [data.person(name) for name in args.person] if args.person else pool[: args.people]
    write_items_file(items_of(people), args.out)
    print(f"{len(people) * 5} items of {len(people)} demo people written to {args.out}")
    return 0


def _cmd_scan(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .detect import ScanSettings, scan
    from .items import read_items_file
    from .modelio import load_model

    items = read_items_file(args.items)
    loaded = load_model(args.model)
    settings = ScanSettings(
        samples=args.samples,
        candidates=args.candidates,
        exposure=not args.no_exposure,
        seed=args.seed,
    )
    result = scan(loaded, items, settings, progress=progress)
    _write_json(args.out, result.to_dict())
    print(json.dumps(result.summary(), indent=2))
    return 0


def _cmd_run(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .items import read_items_file
    from .methods import get_method
    from .modelio import load_model
    from .workflow import run_and_save

    get_method(args.method)  # fail on an unknown method before loading anything
    items = read_items_file(args.items)
    settings = _json_arg(args.settings, "--settings")
    retain = _retain_texts(args.retain, args.model, items)
    loaded = load_model(args.model)
    key = args.hash_key_file.read_bytes() if args.hash_key_file else None
    summary = run_and_save(
        loaded,
        items,
        retain,
        args.out,
        args.method,
        settings,
        seed=args.seed,
        hash_key=key,
        progress=progress,
    )
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_verify(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .items import read_items_file
    from .modelio import load_model
    from .verification import VerificationPolicy, verify

    items = read_items_file(args.items)
    policy = VerificationPolicy.from_dict(_json_arg(args.policy, "--policy"))
    holdout, retain, generic = _verify_sets(args, items)
    before, after = load_model(args.before), load_model(args.after)
    result = verify(before, after, items, holdout, retain, generic, policy, progress=progress)
    _write_json(args.out, result.to_dict())
    print(json.dumps({"passed": result.passed, "failures": result.failures}, indent=2))
    return 0 if result.passed else 1


def _cmd_bench(args: argparse.Namespace, progress: TqdmProgress) -> int:
    from .bench import BenchConfig, run_bench

    config = BenchConfig.from_cli(args.quick, args.methods, args.sizes)
    report = run_bench(args.model, args.out, config, progress=progress)
    print(report)
    return 0


def _json_arg(text: str | None, flag: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise EngineError(f"{flag} is not valid JSON") from None
    if not isinstance(value, dict):
        raise EngineError(f"{flag} must be a JSON object")
    return value


def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _retain_texts(path: Path | None, model_dir: Path, items: Sequence[Any]) -> list[str]:
    """Retain texts from a file, or the demo data of the model (minus the forget subjects)."""
    from .items import read_items_file

    if path is None:
        data = _demo_data(model_dir, "--retain")
        subjects = {i.subject for i in items}
        return data.retain_texts([p for p in data.trained if p.name in subjects])
    if path.suffix.lower() in (".jsonl", ".csv"):
        return [item.text for item in read_items_file(path)]
    return _text_lines(path)


def _demo_data(model_dir: Path, flags: str) -> Any:
    """The demo data beside a model, or a clear error naming the flags to pass instead."""
    from .demo import load_demo_data
    from .errors import DemoDataError

    try:
        return load_demo_data(model_dir)
    except DemoDataError:
        raise EngineError(f"{model_dir} has no demo data: pass {flags}") from None


def _text_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise EngineError(f"text file not found: {path}")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _verify_sets(
    args: argparse.Namespace, items: Sequence[Any]
) -> tuple[list[Any], list[Any], list[str]]:
    """Holdout, retain and generic sets: from files, else from the demo data."""
    from .demo import items_of
    from .items import read_items_file

    if args.holdout and args.retain and args.generic:
        return (
            read_items_file(args.holdout),
            read_items_file(args.retain),
            _text_lines(args.generic),
        )
    data = _demo_data(args.before, "--holdout, --retain and --generic")
    subjects = {i.subject for i in items}
    holdout = read_items_file(args.holdout) if args.holdout else items_of(data.holdout)
    kept = [p for p in data.trained if p.name not in subjects]
    retain = read_items_file(args.retain) if args.retain else items_of(kept)
    generic = _text_lines(args.generic) if args.generic else data.generic_heldout
    return holdout, retain, generic
