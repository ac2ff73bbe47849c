"""The check_prompts stage: a prompt method's templates and label words against the
downloaded tokenizer (``workflow/rules/train.smk``).

A label word must be a single token of the backbone, and the longest template must fit in
``training.prompt_reserve``. Neither can be known before the backbone is downloaded, so
this is a job after ``download_backbone`` rather than a parse-time check: a dry run then
plans the same jobs whatever is on disk, and one bad word stops only the jobs behind it,
with a message naming the method, the dataset and the fix. The job writes the token ids it
checked, which the train job compares with its own before spending any compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fileio import write_json_atomic
from .prompts import PromptError, encode_template, label_word_ids
from .templates import parse_template


class PromptCheckError(ValueError):
    """A template or label word does not fit the backbone; the message names the config key."""


def encoded_prompts(tokenizer: Any, method: dict[str, Any], backbone: str) -> dict[str, Any]:
    """Template and label-word token ids of a prompt method on one tokenizer."""
    word_ids, word_classes = label_word_ids(tokenizer, method["verbalizer"], backbone)
    templates = [encode_template(tokenizer, parse_template(t)).ids for t in method["templates"]]
    return {"templates": [list(map(int, ids)) for ids in templates], "label_words": list(map(int, word_ids)), "label_classes": list(map(int, word_classes))}


def check_prompts(spec: dict[str, Any], backbone_dir: str | Path, out: str | Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(backbone_dir), trust_remote_code=False)
    method, where = spec["method"], f"methods.{spec['method']['name']} on datasets.{spec['dataset']}"
    try:
        encoded = encoded_prompts(tokenizer, method, spec["backbone"])
    except PromptError as err:
        raise PromptCheckError(f"{where}: {err}") from None
    longest = max((len(ids) for ids in encoded["templates"]), default=0)
    if longest > int(spec["prompt_reserve"]):
        raise PromptCheckError(
            f"{where}: a template is {longest} tokens of backbone {spec['backbone']!r}, more than "
            f"training.prompt_reserve ({spec['prompt_reserve']}); raise training.prompt_reserve or shorten the template"
        )
    write_json_atomic(out, {"spec": spec, **encoded})
