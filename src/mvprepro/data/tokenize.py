"""The tokenize stage, and turning text into token ids identically at training, evaluation
and attack time.

One function encodes both the pre-tokenized training data and the texts TextAttack sends
to the model, so the model never sees inputs prepared two different ways. Inputs are
truncated to ``max_length - prompt_reserve`` tokens. With ``prompt_reserve: 0`` (the
default, the reference code's protocol) every method gets up to ``max_length`` tokens and
MVP cuts each input further, from its end, by what each template needs
(:func:`mvprepro.train.prompts.insert_templates`); a positive reserve instead keeps that
many tokens free for every method alike, so that prompted and plain methods see the same
text. For two-column tasks (BoolQ) only the first column (the passage) is truncated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import load_from_disk
from transformers import PreTrainedTokenizerBase

from ..fileio import atomic_directory, write_json_atomic
from .tasks import get_task


def encode_texts(
    tokenizer: PreTrainedTokenizerBase,
    columns: Sequence[Sequence[str]],
    max_length: int,
    prompt_reserve: int,
) -> list[list[int]]:
    """Encode one or two parallel text columns into lists of ids with special tokens."""
    budget = max_length - prompt_reserve
    if budget < 8:
        raise ValueError(
            f"max_length {max_length} minus prompt_reserve {prompt_reserve} leaves {budget} tokens; "
            "raise training.max_length or lower training.prompt_reserve"
        )
    first = [t.lower() for t in columns[0]]
    kwargs: dict[str, Any] = {"truncation": True, "max_length": budget, "add_special_tokens": True}
    if len(columns) == 1:
        enc = tokenizer(first, **kwargs)
    elif len(columns) == 2:
        second = [t.lower() for t in columns[1]]
        enc = tokenizer(first, second, truncation="only_first", max_length=budget)
    else:
        raise ValueError(f"at most two text columns are supported, got {len(columns)}")
    return [list(ids) for ids in enc["input_ids"]]


def tokenize(data: str | Path, backbone: str | Path, out: str | Path, spec: dict[str, Any]) -> None:
    """Encode every split once per backbone; prompts are inserted later, per method."""
    from transformers import AutoTokenizer

    task = get_task(spec["task"])
    tokenizer = AutoTokenizer.from_pretrained(str(backbone), trust_remote_code=False)
    splits = load_from_disk(str(Path(data) / "data"))
    max_length, reserve = int(spec["max_length"]), int(spec["prompt_reserve"])

    def encode(batch: dict[str, list]) -> dict[str, list]:
        return {"input_ids": encode_texts(tokenizer, [batch[c] for c in task.text_columns], max_length, reserve)}

    encoded = splits.map(encode, batched=True, remove_columns=list(task.text_columns), desc="tokenize")
    with atomic_directory(out) as tmp:
        encoded.save_to_disk(str(tmp / "data"))
        lengths = {k: float(sum(map(len, v["input_ids"])) / max(len(v), 1)) for k, v in encoded.items()}
        write_json_atomic(tmp / "stats.json", {"spec": spec, "mean_length": lengths})
