"""CLI: every command has --help; user errors give one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remediation.unlearning.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["demo-model", "demo-items", "scan", "run", "verify", "bench"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # given / when
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    # then
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_run_help_names_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    # given the method registry
    from remediation.unlearning.methods import METHODS

    # when
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    # then the --method help lists them all (argparse may wrap lines)
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in METHODS)


def _items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text('{"prompt": "Ann\'s phone number is", "target": "(111) 222-3333"}\n')
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_model_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given / when
    code = main(["--quiet", "scan", str(tmp_path / "missing"), str(_items(tmp_path))])
    # then
    assert code == 2
    assert "model directory not found" in _one_line_error(capsys)


def test_pickle_model_directory(
    tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a model directory with pickle weights
    model_dir = tmp_path / "m"
    shutil.copytree(tiny_dir, model_dir)
    (model_dir / "pytorch_model.bin").write_bytes(b"x")
    # when
    code = main(["--quiet", "scan", str(model_dir), str(_items(tmp_path))])
    # then
    assert code == 2
    assert "pickle" in _one_line_error(capsys)


def test_bad_items_file(tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given an items file with a broken line
    items = tmp_path / "items.jsonl"
    items.write_text("{broken\n")
    # when
    code = main(["--quiet", "scan", str(tiny_dir), str(items)])
    # then
    assert code == 2
    assert "not valid JSON" in _one_line_error(capsys)


def test_unknown_method(tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given / when
    code = main(
        [
            "--quiet",
            "run",
            str(tiny_dir),
            str(_items(tmp_path)),
            str(tmp_path / "out"),
            "--method",
            "magic",
        ]
    )
    # then
    assert code == 2
    assert "unknown method" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_bad_settings_json(
    tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given / when
    code = main(
        [
            "--quiet",
            "run",
            str(tiny_dir),
            str(_items(tmp_path)),
            str(tmp_path / "out"),
            "--settings",
            "{",
        ]
    )
    # then
    assert code == 2
    assert "--settings" in _one_line_error(capsys)


def test_demo_items_scan_and_run(
    tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the first demo person's items
    items = tmp_path / "person.jsonl"
    assert main(["--quiet", "demo-items", str(tiny_dir), str(items)]) == 0
    # when scanned and then forgotten
    scan_out = tmp_path / "scan.json"
    assert (
        main(
            [
                "--quiet",
                "scan",
                str(tiny_dir),
                str(items),
                "--samples",
                "2",
                "--no-exposure",
                "--out",
                str(scan_out),
            ]
        )
        == 0
    )
    assert main(["--quiet", "run", str(tiny_dir), str(items), str(tmp_path / "v2")]) == 0
    # then: the scan names items by index, and the new version's card has no item text
    scan = json.loads(scan_out.read_text())
    assert len(scan["items"]) == 5 and scan["summary"]["leak_rate"] > 0
    card = (tmp_path / "v2" / "README.md").read_text()
    values = [json.loads(line)["target"] for line in items.read_text().splitlines()]
    assert "rewrite" in card and "items: 5" in card
    assert not any(value in card for value in values)
    assert (tmp_path / "v2" / "manifest.json").is_file()
    capsys.readouterr()


def test_module_entry_point_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    # given a real process, as the Makefile and the worker run it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # when
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "remediation.unlearning",
            "--quiet",
            "scan",
            str(tmp_path / "nope"),
            str(_items(tmp_path)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    # then
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: model directory not found")
    assert "Traceback" not in done.stderr


def test_run_without_retain_on_a_non_demo_model(
    tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a model directory without demo data, and no --retain
    model_dir = tmp_path / "m"
    shutil.copytree(tiny_dir, model_dir)
    shutil.rmtree(model_dir / "demo")
    # when
    code = main(["--quiet", "run", str(model_dir), str(_items(tmp_path)), str(tmp_path / "out")])
    # then
    assert code == 2
    assert "pass --retain" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["demo-model", "out"], "demo-model"),
        (["--quiet", "demo-model", "out"], "demo-model"),
        (["--threads", "1", "demo-model", "out"], "demo-model"),
        (["--threads=1", "run", "a", "b", "c"], "run"),
        (["--quiet"], None),
    ],
)
def test_the_command_is_found_past_the_global_options(argv: list[str], command: str | None) -> None:
    # given the arguments of `python -m remediation.unlearning`, global options first
    from remediation.unlearning.__main__ import command_of

    # when / then the sub-command they name is read before torch loads
    assert command_of(argv) == command
