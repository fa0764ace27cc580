"""The engine must never import Django: it runs on GPU boxes without the site."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import importlib, pkgutil, sys, types
import remediation.unlearning as engine
for module in pkgutil.walk_packages(engine.__path__, "remediation.unlearning."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
shadowed = [n for n in engine.__all__ if isinstance(getattr(engine, n), types.ModuleType)]
print(",".join(shadowed) or "no modules")
leaked = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(",".join(leaked) or "clean")
"""


def test_engine_imports_without_django() -> None:
    # given a fresh interpreter with no Django settings
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    # when every engine module and every public name is imported
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    # then nothing from Django was loaded, and every public name is the function or class
    # (no submodule shadows a name of the API once imported)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["no modules", "clean"]


def test_light_names_do_not_load_torch() -> None:
    # given a fresh interpreter
    program = (
        "import sys; from remediation.unlearning import ForgetItem, EngineError; "
        "print('torch' in sys.modules)"
    )
    # when only the items and errors are imported
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then torch is not loaded (the site's web processes stay light)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
