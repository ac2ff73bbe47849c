"""Where datasets and backbones come from: the Hugging Face hub, a local path, or a builder.

These are the only functions that may touch the network, and only for ``hub`` sources; the
workflow runs them in local rules so that compute nodes never need internet. Whatever the
source, the result is stored in one format under ``resources/`` that every later stage reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import DatasetDict, load_dataset, load_from_disk

from .fileio import atomic_directory, write_json_atomic

LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


class SourceError(ValueError):
    """A source in the config is malformed or cannot be read."""


def _source_kind(source: dict[str, Any], what: str) -> str:
    kinds = [k for k in ("hub", "path", "builder") if k in source]
    if len(kinds) != 1:
        raise SourceError(
            f"{what}: source must have exactly one of 'hub', 'path' or 'builder' (got {sorted(source)})"
        )
    return kinds[0]


def load_local_dataset(path: Path) -> DatasetDict:
    """Read a ``save_to_disk`` DatasetDict or a folder of ``<split>.{jsonl,csv,parquet}`` files."""
    if not path.exists():
        raise SourceError(f"local dataset path {str(path)!r} does not exist")
    if (path / "dataset_dict.json").exists():
        return load_from_disk(str(path))
    files: dict[str, str] = {}
    fmt = None
    for file in sorted(path.iterdir()):
        if file.suffix in LOCAL_FORMATS:
            if fmt not in (None, LOCAL_FORMATS[file.suffix]):
                raise SourceError(f"{path}: mixes file formats; use one of {sorted(LOCAL_FORMATS)}")
            fmt = LOCAL_FORMATS[file.suffix]
            files[file.stem] = str(file)
    if not files or fmt is None:
        raise SourceError(
            f"{path}: expected a saved DatasetDict or files named <split>.jsonl/.csv/.parquet"
        )
    return load_dataset(fmt, data_files=files)


def fetch_dataset(source: dict[str, Any], out_dir: str | Path, name: str) -> None:
    """Materialise a dataset source as a saved DatasetDict in ``out_dir``."""
    kind = _source_kind(source, f"datasets.{name}.source")
    if kind == "hub":
        raw = load_dataset(source["hub"], source.get("name"), revision=source.get("revision"))
    elif kind == "path":
        raw = load_local_dataset(Path(source["path"]))
    else:
        from . import demo

        raw = demo.build_dataset(source["builder"], **source.get("options", {}))
    with atomic_directory(out_dir) as tmp:
        raw.save_to_disk(str(tmp / "data"))
        write_json_atomic(tmp / "source.json", {"name": name, "source": source, "splits": {k: len(v) for k, v in raw.items()}})


def fetch_backbone(source: dict[str, Any], out_dir: str | Path, name: str, corpus: list[str] | None = None) -> None:
    """Materialise a backbone (tokenizer + LM weights, safetensors) in ``out_dir``.

    The LM checkpoint (masked for RoBERTa/BERT, causal for GPT-2) is what every method
    starts from: classification heads are created fresh on top of its encoder, prompt
    methods reuse its LM head.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from .models import is_masked_lm

    kind = _source_kind(source, f"backbones.{name}.source")
    with atomic_directory(out_dir) as tmp:
        if kind in ("hub", "path"):
            ref = source.get("hub") or source["path"]
            if kind == "path" and not Path(ref).exists():
                raise SourceError(f"backbones.{name}.source.path {ref!r} does not exist")
            revision = source.get("revision")
            tokenizer = AutoTokenizer.from_pretrained(ref, revision=revision, trust_remote_code=False)
            config = AutoConfig.from_pretrained(ref, revision=revision, trust_remote_code=False)
            auto = AutoModelForMaskedLM if is_masked_lm(config) else AutoModelForCausalLM
            model = auto.from_pretrained(ref, revision=revision, trust_remote_code=False)
            # Causal LMs such as GPT-2 have no padding and no mask token; prompts need both.
            added = {}
            if tokenizer.pad_token is None:
                added["pad_token"] = "<|pad|>"
            if tokenizer.mask_token is None:
                added["mask_token"] = "<|mask|>"
            if added:
                tokenizer.add_special_tokens(added)
                model.resize_token_embeddings(len(tokenizer))
            model.config.pad_token_id = tokenizer.pad_token_id
            tokenizer.save_pretrained(tmp)
            model.save_pretrained(tmp, safe_serialization=True)
        else:
            from . import demo

            demo.build_backbone(source["builder"], tmp, corpus=corpus or [], **source.get("options", {}))
        write_json_atomic(tmp / "source.json", {"name": name, "source": source})
