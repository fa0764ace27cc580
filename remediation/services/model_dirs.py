"""Validating a Hugging Face causal-LM directory before it enters the registry.

Torch-free on purpose: the site checks a directory by reading its files, never by
loading (unpickling) anything.
"""

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from remediation.services.errors import ValidationFailed

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MAX_FILES = 10_000
# Hugging Face names causal-LM heads either way (LlamaForCausalLM, GPT2LMHeadModel).
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
# What ModelVersion.parameter_count (a signed 64-bit column) can hold.
MAX_PARAMETERS = 2**63 - 1


@dataclass(frozen=True)
class ModelDirInfo:
    path: Path
    architecture: str
    model_type: str
    parameter_count: int
    manifest: dict[str, str]
    manifest_digest: str


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"path": [message]})


def _inside_roots(path: Path) -> bool:
    return any(path == root or root in path.parents for root in settings.MODEL_ROOTS)


def resolve_model_path(raw: str) -> Path:
    """The real directory a user-given path names, confined to the configured roots."""
    raw = (raw or "").strip()
    if not raw or "\x00" in raw or len(raw) > 1024:
        raise _fail("Give the path of a model directory.")
    if ".." in Path(raw).parts:
        raise _fail("The path may not contain '..'.")
    candidates = [Path(raw)] if os.path.isabs(raw) else [r / raw for r in settings.MODEL_ROOTS]
    for candidate in candidates:
        try:
            real = candidate.resolve()
            if _inside_roots(real) and real.is_dir():
                return real
            outside = candidate.exists() and not _inside_roots(real)
        except OSError as exc:  # a name too long, a permission denied: not a 500
            raise _fail(f"The path cannot be used ({exc.strerror or exc}).") from exc
        if outside:
            raise _fail("The path leads outside the configured model roots.")
    roots = ", ".join(str(r) for r in settings.MODEL_ROOTS)
    raise _fail(f"No model directory at that path under the model roots ({roots}).")


def _model_files(directory: Path) -> list[Path]:
    files, linked_dirs = [], []
    for current, dirs, names in os.walk(directory, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        # A linked directory is not walked, but a loader would still follow it.
        linked_dirs += [Path(current) / d for d in dirs if (Path(current) / d).is_symlink()]
        for name in names:
            files.append(Path(current) / name)
            if len(files) > MAX_FILES:
                raise _fail(f"The directory holds more than {MAX_FILES} files.")
    _check_entries(directory, linked_dirs + files, files)
    return sorted(files)


def _check_entries(directory: Path, entries: list[Path], files: list[Path]) -> None:
    for path in entries:
        if not _inside_roots(path.resolve()):
            raise _fail(f"'{path.relative_to(directory)}' links outside the model roots.")
    for path in files:
        # Hashing a broken link fails, and reading a pipe would never end.
        if not path.is_file():
            raise _fail(f"'{path.relative_to(directory)}' is not a regular file.")


def _read_config(directory: Path) -> dict[str, object]:
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise _fail("config.json is missing: not a Hugging Face model directory.")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise _fail(f"config.json is not valid JSON ({exc}).") from exc
    if not isinstance(config, dict):
        raise _fail("config.json must hold a JSON object.")
    return config


def _causal_lm_architecture(config: dict[str, object]) -> tuple[str, str]:
    if "auto_map" in config:
        raise _fail("The model needs remote code (auto_map in config.json); that is refused.")
    architectures = config.get("architectures")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise _fail("config.json has no model_type.")
    if not isinstance(architectures, list) or not architectures:
        raise _fail("config.json names no architecture.")
    causal = [a for a in architectures if isinstance(a, str) and a.endswith(CAUSAL_SUFFIXES)]
    if not causal:
        raise _fail(f"Not a causal language model (architectures: {architectures}).")
    return causal[0], model_type


def _safetensors_header(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > MAX_SAFETENSORS_HEADER:
            raise ValueError("header too large")
        raw = handle.read(length)
    if len(raw) != length:
        raise ValueError("the header runs past the end of the file")
    header = json.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def safetensors_parameter_count(path: Path) -> int:
    """Count parameters from a safetensors header, without loading any tensor."""
    try:
        header = _safetensors_header(path)
        shapes = [v["shape"] for k, v in header.items() if k != "__metadata__"]
        count = sum(_product(shape) for shape in shapes)
        if count > MAX_PARAMETERS:
            raise ValueError("implausibly many parameters")
        return count
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise _fail(f"'{path.name}' is not a valid safetensors file.") from exc


def _product(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
            raise ValueError(f"bad dimension {dim!r}")
        total *= dim
    return total


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_digest(manifest: dict[str, str]) -> str:
    """One hash for the whole directory: SHA-256 of the sorted manifest."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def inspect_model_dir(raw_path: str) -> ModelDirInfo:
    """Validate a model directory and describe it; ValidationFailed says what is wrong."""
    directory = resolve_model_path(raw_path)
    files = _model_files(directory)
    pickles = [p.name for p in files if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise _fail(f"Pickle weights are refused ({', '.join(pickles[:3])}); use safetensors.")
    architecture, model_type = _causal_lm_architecture(_read_config(directory))
    weights = [p for p in files if p.suffix == ".safetensors"]
    if not weights:
        raise _fail("No safetensors weights in the directory.")
    manifest = {str(p.relative_to(directory)): file_sha256(p) for p in files}
    return ModelDirInfo(
        path=directory,
        architecture=architecture,
        model_type=model_type,
        parameter_count=sum(safetensors_parameter_count(p) for p in weights),
        manifest=manifest,
        manifest_digest=manifest_digest(manifest),
    )
