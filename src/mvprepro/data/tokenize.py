"""The tokenize stage (``workflow/rules/data.smk``): every split of a prepared dataset encoded
once per backbone, with :func:`mvprepro.data.encoding.encode_texts` (which the attack's model
wrapper also uses); prompts are inserted later, per method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import load_from_disk

from ..fileio import atomic_directory, write_json_atomic
from .encoding import encode_texts
from .tasks import get_task


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
