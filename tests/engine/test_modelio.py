"""Model I/O: safe loading, clear errors, versions with manifest and card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from remediation.unlearning.errors import ModelDirectoryError, PickleWeightsError
from remediation.unlearning.modelio import (
    LoadedModel,
    file_manifest,
    load_model,
    save_model_version,
    verify_manifest,
)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_loads_the_demo_model_on_cpu_in_fp32(tiny: LoadedModel) -> None:
    # given / when the session fixture loaded it / then
    assert tiny.device.type == "cpu"
    assert str(tiny.dtype) == "torch.float32"
    assert not tiny.model.training


def test_missing_directory(tmp_path: Path) -> None:
    # given / when / then
    with pytest.raises(ModelDirectoryError, match="not found"):
        load_model(tmp_path / "nope")


def test_missing_config(tmp_path: Path, tiny_dir: Path) -> None:
    # given a model directory without config.json
    model_dir = _copy(tiny_dir, tmp_path / "m")
    (model_dir / "config.json").unlink()
    # when / then
    with pytest.raises(ModelDirectoryError, match="no config.json"):
        load_model(model_dir)


def test_broken_config(tmp_path: Path, tiny_dir: Path) -> None:
    # given a config.json that is not JSON
    model_dir = _copy(tiny_dir, tmp_path / "m")
    (model_dir / "config.json").write_text("{not json")
    # when / then
    with pytest.raises(ModelDirectoryError, match="not valid JSON"):
        load_model(model_dir)


def test_remote_code_is_refused(tmp_path: Path, tiny_dir: Path) -> None:
    # given a config that asks for remote code
    model_dir = _copy(tiny_dir, tmp_path / "m")
    config = json.loads((model_dir / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil.Model"}
    (model_dir / "config.json").write_text(json.dumps(config))
    # when / then
    with pytest.raises(ModelDirectoryError, match="remote code"):
        load_model(model_dir)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt"])
def test_pickle_weights_are_refused(tmp_path: Path, tiny_dir: Path, name: str) -> None:
    # given a directory that also holds pickle weights
    model_dir = _copy(tiny_dir, tmp_path / "m")
    (model_dir / name).write_bytes(b"\x80\x04pickle")
    # when / then: refused before anything is unpickled
    with pytest.raises(PickleWeightsError, match="pickle"):
        load_model(model_dir)


def test_no_weights(tmp_path: Path, tiny_dir: Path) -> None:
    # given a directory without safetensors
    model_dir = _copy(tiny_dir, tmp_path / "m")
    for weights in model_dir.glob("*.safetensors"):
        weights.unlink()
    # when / then
    with pytest.raises(ModelDirectoryError, match="no .safetensors"):
        load_model(model_dir)


def test_saved_version_has_manifest_and_card(tmp_path: Path, tiny: LoadedModel) -> None:
    # given
    out = tmp_path / "v2"
    # when
    manifest = save_model_version(tiny, out, card="# card\n", extra={"method": "x"})
    # then: every file is hashed, the manifest checks out, and the version loads again
    assert manifest == file_manifest(out)
    assert {"config.json", "model.safetensors", "README.md", "unlearning.json"} <= set(manifest)
    assert all(len(digest) == 64 for digest in manifest.values())
    assert verify_manifest(out) == []
    assert load_model(out).model.config.n_layer == tiny.model.config.n_layer
    (out / "README.md").write_text("tampered")
    assert verify_manifest(out) == ["README.md"]


def test_never_overwrites_a_version(tmp_path: Path, tiny: LoadedModel) -> None:
    # given a non-empty directory
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "x").write_text("x")
    # when / then
    with pytest.raises(ModelDirectoryError, match="overwrite"):
        save_model_version(tiny, tmp_path / "v2")
