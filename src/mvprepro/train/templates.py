"""Prompt template text: parsing and validation, with no heavy imports.

Kept apart from :mod:`mvprepro.train.prompts` so the workflow can validate templates in the config
at parse time without importing torch.
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
    placement: str  # "front" or "back"
    body: str


def parse_template(text: str) -> Template:
    count = text.count(MASK)
    if count != 1:
        raise PromptError(f"template {text!r} must contain exactly one {MASK} (found {count})")
    stripped = text.strip()
    if stripped.startswith(SEP):
        return Template(text, "back", stripped[len(SEP):].strip())
    if SEP in stripped:
        raise PromptError(f"template {text!r}: {SEP} is only allowed as the first word (it places the template after the input)")
    return Template(text, "front", stripped)
