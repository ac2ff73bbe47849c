"""Turning text into token ids identically at training, evaluation and attack time.

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
from typing import Any

from transformers import PreTrainedTokenizerBase


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
