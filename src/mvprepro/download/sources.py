"""Where datasets and backbones come from: the Hugging Face hub, a local path, or a builder.

These are the only functions that may touch the network, and only for ``hub`` sources; the
workflow runs them in local rules so that compute nodes never need internet. Whatever the
source, the result is stored in one format under ``resources/`` that every later stage reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import DatasetDict, load_dataset, load_from_disk

from ..fileio import atomic_directory, write_json_atomic

# File suffix -> (datasets' loader, its options); a folder holds one format.
LOCAL_FORMATS = {
    ".jsonl": ("json", {}),
    ".json": ("json", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".parquet": ("parquet", {}),
}


class SourceError(ValueError):
    """A source in the config is malformed or cannot be read."""


def _source_kind(source: dict[str, Any], local: str | Path | None, what: str) -> str:
    """``hub``, ``builder`` or ``local`` (a ``path:`` source, whose path the rule passes as an input)."""
    kinds = [k for k in ("hub", "builder") if k in source] + (["local"] if source.get("local") else [])
    if len(kinds) != 1:
        raise SourceError(f"{what}: source must have exactly one of 'hub', 'path' or 'builder' (got {sorted(source)})")
    if (kinds[0] == "local") != (local is not None):
        raise SourceError(f"{what}: a 'path' source needs its local path (--local), and only a 'path' source takes one")
    return kinds[0]


def load_local_dataset(path: Path) -> DatasetDict:
    """Read a ``save_to_disk`` DatasetDict or a folder of ``<split>.<format>`` files
    (jsonl, json, csv, tsv, parquet; the file name without suffix is the split name)."""
    if not path.exists():
        raise SourceError(f"local dataset path {str(path)!r} does not exist")
    if (path / "dataset_dict.json").exists():
        return load_from_disk(str(path))
    files: dict[str, str] = {}
    suffix = None
    for file in sorted(path.iterdir()):
        if file.suffix in LOCAL_FORMATS:
            if suffix not in (None, file.suffix):
                raise SourceError(f"{path}: mixes {suffix} and {file.suffix} files; use one format for every split")
            suffix = file.suffix
            files[file.stem] = str(file)
    if not files or suffix is None:
        raise SourceError(
            f"{path}: expected a saved DatasetDict or files named <split>.<format> "
            f"(formats: {', '.join(s[1:] for s in LOCAL_FORMATS)})"
        )
    loader, options = LOCAL_FORMATS[suffix]
    return load_dataset(loader, data_files=files, **options)


def rename_columns(raw: DatasetDict, rename: dict[str, str], name: str) -> DatasetDict:
    """Apply ``source.rename`` (source column -> new name) to every split that has the column."""
    if not rename:
        return raw
    found = {old for split in raw.values() for old in rename if old in split.column_names}
    missing = sorted(set(rename) - found)
    if missing:
        columns = sorted({c for split in raw.values() for c in split.column_names})
        raise SourceError(f"datasets.{name}.source.rename: no split has columns {missing} (columns: {columns})")
    return DatasetDict({k: v.rename_columns({o: n for o, n in rename.items() if o in v.column_names}) for k, v in raw.items()})


def fetch_dataset(source: dict[str, Any], out_dir: str | Path, name: str, local: str | Path | None = None) -> None:
    """Materialise a dataset source as a saved DatasetDict in ``out_dir``."""
    kind = _source_kind(source, local, f"datasets.{name}.source")
    if kind == "hub":
        raw = load_dataset(source["hub"], source.get("name"), revision=source.get("revision"))
    elif kind == "local":
        raw = load_local_dataset(Path(local))  # type: ignore[arg-type]
    else:
        from . import builders

        raw = builders.build_dataset(source["builder"], **source.get("options", {}))
    raw = rename_columns(raw, source.get("rename", {}), name)
    with atomic_directory(out_dir) as tmp:
        raw.save_to_disk(str(tmp / "data"))
        record = {"name": name, "source": source, "local": str(local) if local else None}
        write_json_atomic(tmp / "source.json", {**record, "splits": {k: len(v) for k, v in raw.items()}})


def fetch_backbone(
    source: dict[str, Any], out_dir: str | Path, name: str, corpus: list[str] | None = None, local: str | Path | None = None
) -> None:
    """Materialise a backbone (tokenizer + LM weights, safetensors) in ``out_dir``.

    The LM checkpoint (masked for RoBERTa/BERT, causal for GPT-2) is what every method
    starts from: classification heads are created fresh on top of its encoder, prompt
    methods reuse its LM head.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from ..architectures import is_masked_lm

    kind = _source_kind(source, local, f"backbones.{name}.source")
    with atomic_directory(out_dir) as tmp:
        if kind in ("hub", "local"):
            ref = source["hub"] if kind == "hub" else str(local)
            if kind == "local" and not Path(ref).exists():
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
            from . import builders

            builders.build_backbone(source["builder"], tmp, corpus=corpus or [], **source.get("options", {}))
        write_json_atomic(tmp / "source.json", {"name": name, "source": source, "local": str(local) if local else None})
