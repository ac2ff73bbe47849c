"""Checks of a user's own dataset files before the ``datasets`` library reads them.

The library's own errors name neither the file nor the line (a ``StopIteration`` for an
empty file, a ``DatasetGenerationError`` for a malformed JSON line or a ragged CSV row, a
``UnicodeDecodeError`` for a Latin-1 byte), and it silently renames a duplicated CSV column
(``text`` -> ``text.1``). Each check here stops with one message naming the dataset's config
key, the file, the line where there is one, and what to change, before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..values import kind
from .sources import SourceError

DELIMITERS = {".csv": ",", ".tsv": "\t"}


def check_file(path: Path, dataset: str, split: str) -> list[dict[str, Any]] | list[str] | None:
    """Stop with a clear error if ``path`` (the ``split`` of ``datasets.<dataset>``) cannot be
    read as one example per row. Returns a JSON file's rows (parsed here, see
    :func:`json_dataset`), a CSV or TSV file's header, or None for Parquet."""
    where = f"datasets.{dataset}.source.path: {path}"
    if path.suffix == ".parquet":
        _check_parquet(path, where, split)
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SourceError(
            f"{where}, line {line}: byte 0x{data[err.start]:02x} is not UTF-8; save the file as UTF-8 "
            f"(for a Latin-1 file: iconv -f latin1 -t utf-8 {path.name} > fixed{path.suffix})"
        ) from None
    if path.suffix in (".jsonl", ".json"):
        rows = _json_rows(text, where)
        count: int = len(rows)
    else:
        header, count = _delimited_rows(text, where, DELIMITERS[path.suffix])
    if count == 0:
        raise SourceError(f"{where}: no examples (the file is empty); put the {split!r} split's examples in it, or remove the file")
    return rows if path.suffix in (".jsonl", ".json") else header


def _json_rows(text: str, where: str) -> list[dict[str, Any]]:
    """The examples of a JSON Lines file (or of a .json file holding one array)."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            whole = _json_array(text)
            if whole is not None:
                return whole
            raise SourceError(
                f"{where}, line {number}: not valid JSON ({err.msg}, column {err.colno}); each line must be one "
                'JSON object, e.g. {"text": "...", "label": "..."}'
            ) from None
        if not isinstance(value, dict):
            raise SourceError(f"{where}, line {number}: a JSON {type(value).__name__}, not an object; each line must be one example such as " '{"text": "...", "label": "..."}')
        rows.append(value)
    return rows


def _json_array(text: str) -> list[dict[str, Any]] | None:
    """The examples of a file that is one JSON array of objects, else None."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    return None


def _delimited_rows(text: str, where: str, delimiter: str) -> tuple[list[str], int]:
    """The header and the number of examples of a CSV or TSV file whose first line is its header."""
    name = "comma" if delimiter == "," else "tab"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next((row for row in reader if row), None)
    if header is None:
        return [], 0
    unnamed = [i + 1 for i, column in enumerate(header) if not column.strip()]
    if unnamed:
        raise SourceError(f"{where}, line {reader.line_num}: header field(s) {unnamed} are empty; the first line must name every column")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise SourceError(f"{where}, line {reader.line_num}: the header names column(s) {repeated} more than once; give every column its own name")
    rows = 0
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise SourceError(
                f"{where}, line {reader.line_num}: {len(row)} fields where the header has {len(header)} "
                f"({', '.join(header)}); quote a field that contains a {name} or a line break"
            )
        rows += 1
    return header, rows


def _check_parquet(path: Path, where: str, split: str) -> None:
    import pyarrow.parquet as pq

    try:
        schema, meta = pq.read_schema(path), pq.read_metadata(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several kinds; the message is what matters
        raise SourceError(f"{where}: not a readable Parquet file ({err})") from None
    repeated = sorted({c for c in schema.names if schema.names.count(c) > 1})
    if repeated:
        raise SourceError(f"{where}: column(s) {repeated} appear more than once; give every column its own name")
    if meta.num_rows == 0:
        raise SourceError(f"{where}: no examples (0 rows); put the {split!r} split's examples in it, or remove the file")


def json_dataset(rows: dict[str, list[dict[str, Any]]], files: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """The splits of a folder of JSON files as a DatasetDict, and the columns whose values
    mix kinds (text, number, true/false) across the folder's rows.

    The ``datasets`` JSON reader turns such a column into JSON-encoded strings (``'"ham"'``)
    or reads an integer among class names as a class id; here every value of a mixed
    column becomes its text (``1`` -> ``"1"``, ``true`` -> ``"true"``, as ``label_map`` keys
    are written) and the mix is recorded, so that prepare can refuse a mixed label column
    that no ``label_map`` explains, naming the file and the rows.
    """
    from datasets import Dataset, DatasetDict

    first: dict[str, dict[str, dict[str, Any]]] = {}
    for split, split_rows in rows.items():
        for number, row in enumerate(split_rows, 1):
            for column, value in row.items():
                if value is not None:
                    first.setdefault(column, {}).setdefault(kind(value), {"file": Path(files[split]).name, "row": number, "value": value})
    mixed = {column: kinds for column, kinds in first.items() if len(kinds) > 1}

    def text(value: Any) -> Any:
        return value if value is None or isinstance(value, str) else json.dumps(value)

    splits = {}
    for split, split_rows in rows.items():
        columns = list(dict.fromkeys(c for row in split_rows for c in row))
        data = {c: [row.get(c) for row in split_rows] for c in columns}
        for column in mixed:
            if column in data:
                data[column] = [text(v) for v in data[column]]
        splits[split] = Dataset.from_dict(data)
    return DatasetDict(splits), mixed
