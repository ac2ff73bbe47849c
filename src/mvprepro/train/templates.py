"""Prompt template text: parsing and validation, with no heavy imports.

Kept apart from :mod:`mvprepro.train.prompts` so the workflow can validate templates in the config
at parse time without importing torch.

A template is taken exactly as the authors' code takes it: a template whose first word
(split on single spaces) is ``[SEP]`` goes after the input and its body is the rest joined
by single spaces; any other template goes before the input, whole. Nothing is stripped:
the reference configs end most templates with a space, which becomes a token.
"""

from __future__ import annotations

from dataclasses import dataclass

MASK = "[MASK]"
SEP = "[SEP]"


class PromptError(ValueError):
    """A template or verbalizer in the config cannot be used."""


@dataclass(frozen=True)
class Template:
    text: str
    placement: str  # "front" (after the start token, before the input) or "back" (after the input)
    body: str  # the text that is tokenized: without the [SEP] marker, spaces kept


def parse_template(text: str) -> Template:
    count = text.count(MASK)
    if count != 1:
        raise PromptError(f"template {text!r} must contain exactly one {MASK} (found {count})")
    words = text.split(" ")
    if words[0] == SEP:
        body = " ".join(words[1:])
        if SEP in body:
            raise PromptError(f"template {text!r}: {SEP} is only allowed once, as the first word")
        return Template(text, "back", body)
    if SEP in text:
        raise PromptError(
            f"template {text!r}: {SEP} is only allowed as the first word, followed by a space "
            "(it places the template after the input)"
        )
    if not text.strip():
        raise PromptError("a template cannot be empty")
    return Template(text, "front", text)
