"""Checking a Hugging Face causal-LM directory before it enters the registry: read, never
loaded; confined to the model roots; no pickle, no remote code."""

import hashlib
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from remediation.services.errors import ValidationFailed
from remediation.services.model_dirs import inspect_model_dir, manifest_digest
from tests.conftest import write_model_dir
from tests.services.model_dir_cases import REFUSED


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_valid_directory_is_described(model_dir):
    # when
    info = inspect_model_dir("tiny-gpt2")
    # then
    assert info.path == model_dir
    assert (info.architecture, info.model_type) == ("GPT2LMHeadModel", "gpt2")
    assert info.parameter_count == 16 * 4 + 4
    assert info.manifest == {
        "config.json": sha256(model_dir / "config.json"),
        "model.safetensors": sha256(model_dir / "model.safetensors"),
    }
    assert info.manifest_digest == manifest_digest(info.manifest)


def test_an_absolute_path_inside_the_root_is_accepted(model_dir):
    # when / then
    assert inspect_model_dir(f"  {model_dir}  ").path == model_dir


def test_the_manifest_covers_every_file_and_all_shards_count(model_root):
    # given: two shards, a tokenizer in a subfolder, a link inside the root
    directory = write_model_dir(model_root / "org" / "llama", architecture="LlamaForCausalLM")
    save_file({"lm_head": np.zeros((10, 3), np.float16)}, str(directory / "model-2.safetensors"))
    (directory / "tokenizer").mkdir()
    (directory / "tokenizer" / "vocab.json").write_text(json.dumps({"a": 0}))
    (directory / "README.md").symlink_to(directory / "config.json")
    # when
    info = inspect_model_dir("org/llama")
    # then
    assert info.architecture == "LlamaForCausalLM"
    assert info.parameter_count == 68 + 30
    assert sorted(info.manifest) == [
        "README.md",
        "config.json",
        "model-2.safetensors",
        "model.safetensors",
        "tokenizer/vocab.json",
    ]
    assert info.manifest["tokenizer/vocab.json"] == sha256(directory / "tokenizer/vocab.json")


def test_hidden_folders_are_not_part_of_the_model(model_dir):
    # given: git or a cache keeps its own files; they are never loaded
    (model_dir / ".cache").mkdir()
    (model_dir / ".cache" / "old.bin").write_bytes(b"pickle")
    # when
    info = inspect_model_dir("tiny-gpt2")
    # then
    assert sorted(info.manifest) == ["config.json", "model.safetensors"]


def test_the_digest_changes_when_any_file_changes(model_dir):
    # given
    before = inspect_model_dir("tiny-gpt2").manifest_digest
    # when
    (model_dir / "config.json").write_text(
        json.dumps({**json.loads((model_dir / "config.json").read_text()), "n_layer": 2})
    )
    # then
    assert inspect_model_dir("tiny-gpt2").manifest_digest != before


@pytest.mark.parametrize(
    ("case", "message"), [(k, v[1]) for k, v in REFUSED.items()], ids=list(REFUSED)
)
def test_refused_directories_say_why(model_root, case, message):
    # given
    path = REFUSED[case][0](model_root)
    # when
    with pytest.raises(ValidationFailed, match=message) as refused:
        inspect_model_dir(path)
    # then
    assert refused.value.errors == {"path": [str(refused.value)]}


def test_a_path_under_a_second_root_is_found(tmp_path, settings):
    # given
    first, second = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    first.mkdir()
    settings.MODEL_ROOTS = [first, second]
    directory = write_model_dir(second / "m")
    # when / then
    assert inspect_model_dir("m").path == directory
