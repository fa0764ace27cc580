"""Train the demo tokenizer and the small GPT-2 from scratch, deterministically, on CPU."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from ..modelio import choose_device, place
from ..progress import CancelCheck, ProgressFn, check_cancel, emit
from . import corpus

EOS = "<|endoftext|>"
NUMBER_TOKENS = [f"{n:03d}" for n in range(1000)] + [f"{n:02d}" for n in range(100)]


@dataclass(frozen=True)
class DemoRecipe:
    """Everything that decides the demo model; stored with it so the oracle can be rebuilt."""

    trained_people: int = 80
    holdout_people: int = 40
    vocab_size: int = 1600
    n_layer: int = 4
    n_embd: int = 128
    n_head: int = 4
    block_size: int = 64
    batch_size: int = 16
    steps: int = 1400
    lr: float = 4e-3
    warmup_steps: int = 60
    weight_decay: float = 0.0
    generic_share: float = 0.15

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoRecipe:
        """Inverse of ``to_dict``; unknown keys are ignored."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``, loadable offline by AutoTokenizer."""
    tokenizer = Tokenizer(models.BPE())
    # One token per digit: merged numbers would put trained people's phone numbers into
    # the vocabulary (a leak of its own) and tokenize never-seen values differently.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    # Numbers are written with a fixed vocabulary of 1-3 digit tokens (longest match
    # first), the same for every value, instead of digit merges learned from the data.
    tokenizer.add_tokens([AddedToken(n, normalized=False) for n in NUMBER_TOKENS])
    # Every document in training starts after an end-of-text token, so prompts do too.
    eos_id = tokenizer.token_to_id(EOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{EOS} $A", special_tokens=[(EOS, eos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=EOS, eos_token=EOS, pad_token=EOS, unk_token=EOS
    )


def eos_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id of the end-of-text token."""
    found = tokenizer.convert_tokens_to_ids(EOS)
    if not isinstance(found, int):
        raise ValueError("the tokenizer has no end-of-text token")
    return found


def new_model(recipe: DemoRecipe, tokenizer: PreTrainedTokenizerBase, seed: int) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 sized by the recipe."""
    torch.manual_seed(seed)
    eos = eos_id(tokenizer)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=recipe.n_embd,
        n_layer=recipe.n_layer,
        n_head=recipe.n_head,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
        # GPT-2's tanh GELU as one fused operation: the same function as ``gelu_new`` (to
        # 2e-7) without its eight elementwise passes, which cost a fifth of a block on CPU.
        activation_function="gelu_pytorch_tanh",
        # No dropout: the demo is meant to memorise, and fast.
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    return GPT2LMHeadModel(config)


def token_blocks(
    documents: Iterator[str], tokenizer: PreTrainedTokenizerBase, block_size: int
) -> Iterator[list[int]]:
    """Pack a stream of documents, each opened by EOS, into blocks of ``block_size`` tokens."""
    buffer: list[int] = []
    for document in documents:
        buffer.extend(tokenizer.encode(document))
        while len(buffer) >= block_size:
            yield buffer[:block_size]
            buffer = buffer[block_size:]


def learning_rate(recipe: DemoRecipe, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_demo_lm(
    people: Sequence[corpus.Person],
    tokenizer: PreTrainedTokenizerBase,
    recipe: DemoRecipe,
    seed: int,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
) -> GPT2LMHeadModel:
    """Train a demo GPT-2 from scratch on ``people``'s records and generic text."""
    model = new_model(recipe, tokenizer, seed)
    device = choose_device()[0]
    place(model, device)  # trained in fp32 everywhere; load_model casts to bf16 on a GPU
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=recipe.lr,
        betas=(0.9, 0.98),
        weight_decay=recipe.weight_decay,
        fused=True,  # one kernel for every tensor, on CPU and CUDA alike
    )
    documents = corpus.training_documents(people, recipe.generic_share, random.Random(seed))
    blocks = token_blocks(documents, tokenizer, recipe.block_size)
    model.train()
    for step in range(recipe.steps):
        check_cancel(should_cancel)
        batch = torch.tensor([next(blocks) for _ in range(recipe.batch_size)], device=device)
        loss = _train_step(model, optimizer, batch, learning_rate(recipe, step))
        emit(progress, "train", step + 1, recipe.steps, {"loss": loss})
    return model.cpu().eval()


def _train_step(
    model: GPT2LMHeadModel, optimizer: torch.optim.Optimizer, batch: torch.Tensor, lr: float
) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    loss = model(input_ids=batch, attention_mask=torch.ones_like(batch), labels=batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())
