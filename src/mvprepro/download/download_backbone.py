"""The download_backbone stage (``workflow/rules/download.smk``): a backbone (tokenizer + LM
weights, safetensors), written to ``resources/backbones/<name>``, which every later stage reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .backbones import fetch_backbone


def download_backbone(spec: dict[str, Any], out: str | Path, corpus: list[str] | None = None, local: str | Path | None = None) -> None:
    """The stage's entry: ``spec`` is ``Plan.download_backbone``'s; ``corpus`` the datasets a
    builder trains its tokenizer on."""
    fetch_backbone(spec["source"], out, spec["name"], corpus=corpus, local=local)
