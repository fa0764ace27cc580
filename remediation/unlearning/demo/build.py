"""Build the demo model: corpus, tokenizer, a small GPT-2 trained on CPU, and its data."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import ModelDirectoryError
from ..modelio import LoadedModel, choose_device, place, write_manifest
from ..progress import CancelCheck, ProgressFn, emit
from ..runtime import seed_everything
from . import corpus
from .data import DemoData, load_demo_data, write_demo_data
from .training import DemoRecipe, train_demo_lm, train_tokenizer

TOKENIZER_DOCUMENTS = 4000
GENERIC_TRAIN = 200
GENERIC_HELDOUT = 100


def make_demo_data(seed: int, recipe: DemoRecipe) -> DemoData:
    """The people (trained and holdout) and generic texts for a seed."""
    people = corpus.make_people(recipe.trained_people + recipe.holdout_people, random.Random(seed))
    generic_rng = random.Random(seed + 1)
    return DemoData(
        seed=seed,
        recipe=recipe,
        trained=people[: recipe.trained_people],
        holdout=people[recipe.trained_people :],
        generic_train=[corpus.generic_document(generic_rng) for _ in range(GENERIC_TRAIN)],
        generic_heldout=[corpus.generic_document(generic_rng) for _ in range(GENERIC_HELDOUT)],
    )


def tokenizer_texts(data: DemoData) -> list[str]:
    """What the tokenizer learns from: people of the same kind who are neither trained
    nor holdout, every pool word, and generic text.

    Learned from the trained people themselves, merges would follow their particular
    values, so a trained value would take fewer tokens than a never-seen one: a
    membership signal in the tokenizer.
    """
    strangers = corpus.make_people(len(data.trained), random.Random(data.seed + 3))
    stream = corpus.training_documents(
        strangers, data.recipe.generic_share, random.Random(data.seed + 2)
    )
    sheet = corpus.vocabulary_sheet() * 20
    return sheet + [next(stream) for _ in range(TOKENIZER_DOCUMENTS)]


def build_demo_model(
    out_dir: str | Path,
    seed: int = 0,
    recipe: DemoRecipe | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
) -> Path:
    """Build the demo model into ``out_dir`` (which must not exist or be empty).

    Writes a Hugging Face GPT-2 directory (safetensors, tokenizer loadable offline by
    ``AutoTokenizer``), the demo data under ``demo/`` (trained and holdout people, generic
    text; read it with ``load_demo_data``), a model card and ``manifest.json``. The build
    is deterministic under ``seed`` and goes to a temporary directory first, so a
    cancelled or failed build leaves nothing half-written.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ModelDirectoryError(f"refusing to build into non-empty path {out}")
    recipe = recipe or DemoRecipe()
    seed_everything(seed)
    data = make_demo_data(seed, recipe)
    emit(progress, "tokenizer", 0, 1)
    tokenizer = train_tokenizer(tokenizer_texts(data), recipe.vocab_size)
    model = train_demo_lm(data.trained, tokenizer, recipe, seed, progress, should_cancel)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-build-", dir=out.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        write_demo_data(staging, data)
        (staging / "README.md").write_text(demo_card(data), encoding="utf-8")
        write_manifest(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def demo_card(data: DemoData) -> str:
    """Model card of the demo model."""
    r = data.recipe
    return (
        "# Unlearn demo model\n\n"
        f"A {r.n_layer}-layer, {r.n_embd}-wide GPT-2 with a {r.vocab_size}-token byte-level BPE, "
        f"trained from scratch for {r.steps} steps (seed {data.seed}) on synthetic records of "
        f"{len(data.trained)} fictional people (names, emails, phone numbers, addresses, "
        "employers, birth dates) in several phrasings and question forms, plus generic text. "
        f"{len(data.holdout)} more people of the same format were never trained on (holdout). "
        "All data is fictional; see `demo/people.json`.\n"
    )


def retrain_without(
    model_dir: str | Path,
    excluded: Iterable[str],
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
    seed: int | None = None,
) -> LoadedModel:
    """The oracle: the demo model retrained from scratch without the named people.

    Same recipe, seed and tokenizer as the original; only the excluded people's records
    are left out of the training stream. Another ``seed`` gives another retraining of the
    same data (its initial weights and the order it sees the records in): how far two
    retrainings land apart is the noise floor of comparing a method with the oracle.
    """
    from transformers import AutoTokenizer

    data = load_demo_data(model_dir)
    names = set(excluded)
    people = [p for p in data.trained if p.name not in names]
    tokenizer = AutoTokenizer.from_pretrained(
        model_dir, local_files_only=True, trust_remote_code=False
    )
    seed = data.seed if seed is None else seed
    seed_everything(seed)
    model = train_demo_lm(people, tokenizer, data.recipe, seed, progress, should_cancel)
    device, dtype = choose_device()
    place(model, device, dtype)  # as load_model would hold it
    return LoadedModel(model=model, tokenizer=tokenizer, device=device, path=None)
