"""The check_prompts stage: a prompt method's templates and label words against the
downloaded tokenizer (``workflow/rules/train.smk``).

A label word must be a single token of the backbone, a template must leave room for the
input in ``training.max_length``, and on a causal backbone a template must follow the input. Neither can be known before the backbone is downloaded, so
this is a job after ``download_backbone`` rather than a parse-time check: a dry run then
plans the same jobs whatever is on disk, and one bad word stops only the jobs behind it,
with a message naming the method, the dataset and the fix. The job writes the token ids it
checked, which the train job compares with its own before spending any compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fileio import write_json_atomic
from .prompts import PromptError, Reading, encode_templates, label_word_ids, reading_for


class PromptCheckError(ValueError):
    """A template or label word does not fit the backbone; the message names the config key."""


def encoded_prompts(tokenizer: Any, method: dict[str, Any], backbone: str, reading: Reading) -> dict[str, Any]:
    """Template and label-word token ids of a prompt method on one tokenizer."""
    word_ids, word_classes = label_word_ids(tokenizer, method["verbalizer"], backbone, reading.label_word_space)
    templates = [t.ids for t in encode_templates(tokenizer, method["templates"], reading, backbone)]
    return {
        "templates": [list(map(int, ids)) for ids in templates],
        "template_tokens": [tokenizer.convert_ids_to_tokens(list(ids)) for ids in templates],
        "label_words": list(map(int, word_ids)),
        "label_classes": list(map(int, word_classes)),
    }


def check_prompts(spec: dict[str, Any], backbone: str | Path, out: str | Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    from ..architectures import is_masked_lm

    tokenizer = AutoTokenizer.from_pretrained(str(backbone), trust_remote_code=False)
    config = AutoConfig.from_pretrained(str(backbone), trust_remote_code=False)
    method, where = spec["method"], f"methods.{spec['method']['name']} on datasets.{spec['dataset']}"
    reading = reading_for(method["kind"], config.model_type, not is_masked_lm(config))
    try:
        encoded = encoded_prompts(tokenizer, method, spec["backbone"], reading)
    except PromptError as err:
        raise PromptCheckError(f"{where}: {err}") from None
    longest = max((len(ids) for ids in encoded["templates"]), default=0)
    room = int(spec["max_length"]) - longest - 2
    if room < 8:
        raise PromptCheckError(
            f"{where}: a template is {longest} tokens of backbone {spec['backbone']!r}, leaving {room} tokens of "
            f"training.max_length ({spec['max_length']}) for the input; shorten the template or raise max_length"
        )
    write_json_atomic(out, {"spec": spec, **encoded})
