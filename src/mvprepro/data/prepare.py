"""The prepare stage: a downloaded dataset -> the task protocol's splits, lowercased, with
canonical columns (``workflow/rules/data.smk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import load_from_disk

from ..fileio import atomic_directory, read_json, write_json_atomic
from .tasks import prepare_splits


def prepare(raw: str | Path, out: str | Path, spec: dict[str, Any]) -> None:
    """Apply the task protocol (splits, lowercasing, canonical columns) and save the splits."""
    raw_splits = load_from_disk(str(Path(raw) / "data"))
    source = Path(raw) / "source.json"
    record = read_json(source) if source.exists() else {}  # a local source's files and mixed columns, for messages
    splits = prepare_splits(
        spec["task"],
        raw_splits,
        spec.get("protocol", {}),
        test_only=bool(spec.get("evaluate_only")),
        dataset=spec.get("dataset"),
        files=record.get("files"),
        mixed_kinds=record.get("mixed_kinds"),
    )
    limit = spec.get("protocol", {}).get("max_train_examples")
    if limit and "train" in splits:
        splits["train"] = splits["train"].select(range(min(int(limit), len(splits["train"]))))
    with atomic_directory(out) as tmp:
        splits.save_to_disk(str(tmp / "data"))
        write_json_atomic(tmp / "stats.json", {"spec": spec, "sizes": {k: len(v) for k, v in splits.items()}})
