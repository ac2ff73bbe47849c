"""The prepare and tokenize stages: raw dataset -> protocol splits -> token ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import load_from_disk

from .encoding import encode_texts
from .fileio import atomic_directory, write_json_atomic
from .tasks import get_task, prepare_splits


def prepare(raw_dir: str | Path, out_dir: str | Path, spec: dict[str, Any]) -> None:
    """Apply the task protocol (splits, lowercasing, canonical columns) and save the splits."""
    raw = load_from_disk(str(Path(raw_dir) / "data"))
    splits = prepare_splits(spec["task"], raw, spec.get("protocol", {}))
    limit = spec.get("protocol", {}).get("max_train_examples")
    if limit:
        splits["train"] = splits["train"].select(range(min(int(limit), len(splits["train"]))))
    with atomic_directory(out_dir) as tmp:
        splits.save_to_disk(str(tmp / "data"))
        write_json_atomic(tmp / "stats.json", {"spec": spec, "sizes": {k: len(v) for k, v in splits.items()}})


def tokenize(data_dir: str | Path, backbone_dir: str | Path, out_dir: str | Path, spec: dict[str, Any]) -> None:
    """Encode every split once per backbone; prompts are inserted later, per method."""
    from transformers import AutoTokenizer

    task = get_task(spec["task"])
    tokenizer = AutoTokenizer.from_pretrained(str(backbone_dir), trust_remote_code=False)
    splits = load_from_disk(str(Path(data_dir) / "data"))
    max_length, reserve = int(spec["max_length"]), int(spec["prompt_reserve"])

    def encode(batch: dict[str, list]) -> dict[str, list]:
        return {"input_ids": encode_texts(tokenizer, [batch[c] for c in task.text_columns], max_length, reserve)}

    encoded = splits.map(encode, batched=True, remove_columns=list(task.text_columns), desc="tokenize")
    with atomic_directory(out_dir) as tmp:
        encoded.save_to_disk(str(tmp / "data"))
        lengths = {k: float(sum(map(len, v["input_ids"])) / max(len(v), 1)) for k, v in encoded.items()}
        write_json_atomic(tmp / "stats.json", {"spec": spec, "mean_length": lengths})
