"""The download_dataset stage (``workflow/rules/download.smk``): a dataset source materialised as
a saved DatasetDict, written to ``resources/datasets/<name>``, which ``prepare`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .datasets import fetch_dataset


def download_dataset(spec: dict[str, Any], out: str | Path, local: str | Path | None = None) -> None:
    """The stage's entry: ``spec`` is ``Plan.download_dataset``'s (the source and its name)."""
    fetch_dataset(spec["source"], out, spec["name"], local=local)
