"""Model directories that must be refused, shared by the model_dirs and registry tests.

Each case builds its directory under the model root (or next to it, for paths that
lead out) and returns the path a user would type.
"""

import json
import struct
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write_model_dir

Builder = Callable[[Path], str]


def _valid(root: Path, name: str = "tiny-gpt2") -> Path:
    return write_model_dir(root / name)


def _outside(root: Path) -> Path:
    """A perfectly valid model directory that is not under the root."""
    return write_model_dir(root.parent / "elsewhere" / "model")


def _with_config(config: object, raw: bytes | None = None) -> Builder:
    def build(root: Path) -> str:
        directory = _valid(root)
        data = raw if raw is not None else json.dumps(config).encode()
        (directory / "config.json").write_bytes(data)
        return "tiny-gpt2"

    return build


def _with_weights(data: bytes) -> Builder:
    def build(root: Path) -> str:
        directory = _valid(root)
        (directory / "model.safetensors").write_bytes(data)
        return "tiny-gpt2"

    return build


def _header(header: object) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body


def missing(root: Path) -> str:
    return "no-such-model"


def absolute_outside(root: Path) -> str:
    return str(_outside(root))


def dotdot(root: Path) -> str:
    _valid(root)
    return "tiny-gpt2/../tiny-gpt2"


def dotdot_out(root: Path) -> str:
    _outside(root)
    return "../elsewhere/model"


def file_link_out(root: Path) -> str:
    directory = _valid(root)
    secret = root.parent / "secret.json"
    secret.write_text("{}")
    (directory / "tokenizer.json").symlink_to(secret)
    return "tiny-gpt2"


def dir_link_out(root: Path) -> str:
    directory = _valid(root)
    (directory / "extra").symlink_to(_outside(root))
    return "tiny-gpt2"


def directory_is_link_out(root: Path) -> str:
    (root / "linked").symlink_to(_outside(root))
    return "linked"


def broken_link(root: Path) -> str:
    directory = _valid(root)
    (directory / "tokenizer.json").symlink_to(directory / "gone.json")
    return "tiny-gpt2"


def pickle_weights(root: Path) -> str:
    directory = _valid(root)
    (directory / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    return "tiny-gpt2"


def no_safetensors(root: Path) -> str:
    directory = _valid(root)
    (directory / "model.safetensors").unlink()
    return "tiny-gpt2"


def no_config(root: Path) -> str:
    directory = _valid(root)
    (directory / "config.json").unlink()
    return "tiny-gpt2"


def empty_path(root: Path) -> str:
    return "   "


GPT2 = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}

# name: (builder, what the message must say)
REFUSED: dict[str, tuple[Builder, str]] = {
    "missing-dir": (missing, "No model directory at that path"),
    "empty-path": (empty_path, "Give the path of a model directory"),
    "absolute-outside": (absolute_outside, "leads outside the configured model roots"),
    "dotdot": (dotdot, "may not contain '..'"),
    "dotdot-out": (dotdot_out, "may not contain '..'"),
    "file-link-out": (file_link_out, "'tokenizer.json' links outside the model roots"),
    "dir-link-out": (dir_link_out, "'extra' links outside the model roots"),
    "directory-is-link-out": (directory_is_link_out, "leads outside the configured model roots"),
    "broken-link": (broken_link, "'tokenizer.json' is not a regular file"),
    "pickle-weights": (pickle_weights, "Pickle weights are refused .pytorch_model.bin."),
    "no-safetensors": (no_safetensors, "No safetensors weights"),
    "no-config": (no_config, "config.json is missing"),
    "config-not-json": (_with_config(None, raw=b"{architectures: oops"), "not valid JSON"),
    "config-not-utf8": (_with_config(None, raw=b'{"a": "\xff"}'), "not valid JSON"),
    "config-huge-number": (_with_config(None, raw=b"1" * 5000), "not valid JSON"),
    "config-deep": (_with_config(None, raw=b"[" * 100_000), "not valid JSON"),
    "config-list": (_with_config([GPT2]), "must hold a JSON object"),
    "remote-code": (
        _with_config({**GPT2, "auto_map": {"AutoModelForCausalLM": "evil.Model"}}),
        "remote code",
    ),
    "not-causal": (
        _with_config({"architectures": ["BertForMaskedLM"], "model_type": "bert"}),
        "Not a causal language model",
    ),
    "no-architecture": (_with_config({"model_type": "gpt2"}), "names no architecture"),
    "no-model-type": (_with_config({"architectures": ["GPT2LMHeadModel"]}), "no model_type"),
    "weights-truncated": (_with_weights(b"\x01\x02"), "not a valid safetensors file"),
    "weights-header-past-end": (
        _with_weights(struct.pack("<Q", 1000) + b"{}"),
        "not a valid safetensors file",
    ),
    "weights-header-huge": (
        _with_weights(struct.pack("<Q", 2**40) + b"{}"),
        "not a valid safetensors file",
    ),
    "weights-header-not-json": (
        _with_weights(struct.pack("<Q", 5) + b"hello"),
        "not a valid safetensors file",
    ),
    "weights-header-list": (_with_weights(_header([1, 2])), "not a valid safetensors file"),
    "weights-no-shape": (_with_weights(_header({"w": {"dtype": "F32"}})), "not a valid"),
    "weights-bad-shape": (_with_weights(_header({"w": {"shape": ["a"]}})), "not a valid"),
    "weights-negative-dim": (_with_weights(_header({"w": {"shape": [-4, 4]}})), "not a valid"),
    "weights-absurd-count": (
        _with_weights(_header({"w": {"shape": [2**40, 2**40]}})),
        "not a valid safetensors file",
    ),
}
