"""Model I/O: load a local Hugging Face causal LM safely, save a new version with evidence.

Only safetensors weights are loaded; a directory holding pickle weights (``.bin``, ``.pt``,
``.pth``, ``.ckpt``, ``.pkl``) is refused outright, because unpickling runs code. Remote
code is never trusted and nothing is fetched from the network.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .errors import ModelDirectoryError, PickleWeightsError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MANIFEST_NAME = "manifest.json"


@dataclass
class LoadedModel:
    """A causal LM ready to use: the model (in eval mode), its tokenizer and device."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    path: Path | None = None

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the weights are held in."""
        return next(self.model.parameters()).dtype


def choose_device() -> tuple[torch.device, torch.dtype]:
    """CUDA with bf16 when a GPU is present, else CPU with fp32."""
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), torch.float32


def place(model: nn.Module, device: torch.device, dtype: torch.dtype | None = None) -> None:
    """Move a model to a device (and dtype) in place."""
    # nn.Module.to, not model.to: transformers wraps ``to`` in a way type checkers misread.
    nn.Module.to(model, device=device, dtype=dtype)


def check_model_directory(path: str | Path) -> Path:
    """Check a model directory before loading it; return it as a ``Path``.

    Raises ``ModelDirectoryError`` (``PickleWeightsError`` for pickle weights) with a one
    line reason: missing directory, no or broken ``config.json``, remote code, pickle
    weights, or no safetensors weights.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise ModelDirectoryError(f"model directory not found: {directory}")
    _check_config(directory)
    pickles = sorted(p.name for p in directory.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise PickleWeightsError(
            f"refusing pickle weights in {directory} ({pickles[0]}): only safetensors are loaded"
        )
    if not any(directory.glob("*.safetensors")):
        raise ModelDirectoryError(f"no .safetensors weights in {directory}")
    return directory


def _check_config(directory: Path) -> None:
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ModelDirectoryError(f"no config.json in {directory}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelDirectoryError(f"config.json in {directory} is not valid JSON") from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelDirectoryError(f"config.json in {directory} has no model_type")
    if "auto_map" in config:
        raise ModelDirectoryError(f"{directory} needs remote code, which is never trusted")


def load_model(path: str | Path, device: torch.device | str | None = None) -> LoadedModel:
    """Load a local causal-LM directory (safetensors only, no remote code, offline).

    The model is put on CUDA in bf16 when a GPU is present, else on CPU in fp32, and set to
    eval mode. Raises ``ModelDirectoryError`` for anything wrong with the directory.
    """
    directory = check_model_directory(path)
    chosen, dtype = choose_device()
    target = torch.device(device) if device is not None else chosen
    dtype = dtype if target.type == "cuda" else torch.float32
    try:
        model = _load_weights(directory, dtype)
        tokenizer = AutoTokenizer.from_pretrained(
            directory, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelDirectoryError(
            f"cannot load model from {directory}: {_first_line(error)}"
        ) from None
    place(model, target)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, device=target, path=directory)


def _load_weights(directory: Path, dtype: torch.dtype) -> PreTrainedModel:
    model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(
        directory,
        local_files_only=True,
        trust_remote_code=False,
        use_safetensors=True,
        dtype=dtype,
    )
    return model


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks so large weights do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_manifest(path: str | Path) -> dict[str, str]:
    """SHA-256 of every file under a directory, keyed by relative POSIX path.

    The manifest file itself is left out, so a saved version can be re-checked against it.
    """
    root = Path(path)
    if not root.is_dir():
        raise ModelDirectoryError(f"model directory not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def manifest_digest(manifest: dict[str, str]) -> str:
    """One SHA-256 over a manifest: a short identity for a whole model version."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def save_model_version(
    loaded: LoadedModel,
    out_dir: str | Path,
    card: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Save a model as a new version directory: safetensors, tokenizer, card, manifest.

    ``card`` is the README.md text (see ``modelcard.render_model_card``); ``extra`` is
    written as ``unlearning.json`` (settings and results, never item text). The manifest
    (``manifest.json``: SHA-256 of every other file) is written last and returned.
    Refuses to write into a non-empty directory, so a version is never overwritten.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ModelDirectoryError(f"refusing to overwrite non-empty directory {out}")
    out.mkdir(parents=True, exist_ok=True)
    loaded.model.save_pretrained(out, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out)
    if card is not None:
        (out / "README.md").write_text(card, encoding="utf-8")
    if extra is not None:
        (out / "unlearning.json").write_text(
            json.dumps(extra, indent=2, sort_keys=True), encoding="utf-8"
        )
    return write_manifest(out)


def write_manifest(directory: str | Path) -> dict[str, str]:
    """Write ``manifest.json`` for a directory and return the manifest."""
    manifest = file_manifest(directory)
    body = json.dumps({"algorithm": "sha256", "files": manifest}, indent=2, sort_keys=True)
    (Path(directory) / MANIFEST_NAME).write_text(body + "\n", encoding="utf-8")
    return manifest


def verify_manifest(directory: str | Path) -> list[str]:
    """Files whose hash no longer matches ``manifest.json`` (added, removed or changed)."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise ModelDirectoryError(f"no {MANIFEST_NAME} in {directory}")
    recorded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))["files"]
    current = file_manifest(directory)
    return sorted(
        name for name in recorded.keys() | current.keys() if recorded.get(name) != current.get(name)
    )
