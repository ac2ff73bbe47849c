"""A user's own dataset files with one defect each: the download or prepare stage stops
with one message naming the dataset, the file, the line or row, the column where there is
one, and what to change; and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvprepro.data.prepare import prepare
from mvprepro.data.tasks import ProtocolError, from_config
from mvprepro.download.download_dataset import download_dataset
from mvprepro.download.sources import SourceError

TASK = {"text": "text", "label": "label", "labels": ["ham", "spam"], "splits": {"train": "train", "test": "test"}}
ROWS = [{"text": f"message number {i}", "label": "spam" if i % 2 else "ham"} for i in range(8)]


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _folder(tmp_path: Path, **files: str | bytes) -> Path:
    """A dataset folder: good train and test JSON Lines files unless a file is given."""
    folder = tmp_path / "mail"
    folder.mkdir()
    files = {"train.jsonl": _jsonl(ROWS), "test.jsonl": _jsonl(ROWS[:4]), **files}
    for name, content in files.items():
        if content is None:
            continue
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def _download(tmp_path: Path, folder: Path) -> Path:
    out = tmp_path / "raw"
    download_dataset({"name": "mail", "source": {"local": True}}, out, local=folder)
    return out


def _prepare(tmp_path: Path, raw: Path, task: dict | None = None) -> Path:
    out = tmp_path / "prepared"
    spec = {"dataset": "mail", "task": from_config("mail", task or TASK).to_spec(), "protocol": {}}
    prepare(raw, out, spec)
    return out


def _download_fails(tmp_path: Path, folder: Path, *parts: str) -> None:
    with pytest.raises(SourceError) as err:
        _download(tmp_path, folder)
    message = str(err.value)
    for part in ("datasets.mail.source.path", *parts):
        assert part in message, message
    assert not (tmp_path / "raw").exists()


def _prepare_fails(tmp_path: Path, folder: Path, *parts: str, task: dict | None = None) -> None:
    raw = _download(tmp_path, folder)
    with pytest.raises(ProtocolError) as err:
        _prepare(tmp_path, raw, task)
    message = str(err.value)
    for part in parts:
        assert part in message, message
    assert not (tmp_path / "prepared").exists()


def test_good_files_prepare(tmp_path):
    out = _prepare(tmp_path, _download(tmp_path, _folder(tmp_path)))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sizes"]["test"] == 4


# ---------------------------------------------------------------- JSON Lines


def test_a_null_label(tmp_path):
    rows = [*ROWS[:2], {"text": "no label here", "label": None}, *ROWS[3:]]
    folder = _folder(tmp_path, **{"train.jsonl": _jsonl(rows)})
    _prepare_fails(tmp_path, folder, "datasets.mail: train.jsonl (split 'train'), row 3", "column 'label' is empty (null)", "give every example a label")


def test_a_byte_that_is_not_utf8(tmp_path):
    data = _jsonl(ROWS[:1]).encode() + b'{"text": "caf\xe9", "label": "ham"}\n' + _jsonl(ROWS[2:]).encode()
    _download_fails(tmp_path, _folder(tmp_path, **{"train.jsonl": data}), "train.jsonl, line 2", "byte 0xe9 is not UTF-8", "save the file as UTF-8")


def test_an_empty_test_file(tmp_path):
    _download_fails(tmp_path, _folder(tmp_path, **{"test.jsonl": ""}), "test.jsonl: no examples", "'test' split")


def test_a_malformed_json_line(tmp_path):
    text = _jsonl(ROWS[:3]) + '{"text": "unterminated, "label": "ham"}\n' + _jsonl(ROWS[3:])
    _download_fails(tmp_path, _folder(tmp_path, **{"train.jsonl": text}), "train.jsonl, line 4: not valid JSON", "one JSON object")


def test_one_integer_label_among_class_names(tmp_path):
    rows = [*ROWS[:3], {"text": "a class id", "label": 1}, *ROWS[4:]]
    folder = _folder(tmp_path, **{"train.jsonl": _jsonl(rows)})
    _prepare_fails(
        tmp_path, folder, "datasets.mail: column 'label' mixes kinds of label", "text (test.jsonl row 1: 'ham')",
        "number (train.jsonl row 4: 1)", "datasets.mail.task.label_map",
    )


def test_mixed_labels_are_read_through_a_label_map_that_covers_them(tmp_path):
    rows = [*ROWS[:3], {"text": "a class id", "label": 1}, *ROWS[4:]]
    raw = _download(tmp_path, _folder(tmp_path, **{"train.jsonl": _jsonl(rows)}))
    task = {**TASK, "label_map": {"ham": "ham", "spam": "spam", "1": "spam"}}
    out = _prepare(tmp_path, raw, task)
    assert json.loads((out / "stats.json").read_text())["sizes"]["test"] == 4


def test_an_undeclared_label(tmp_path):
    rows = [*ROWS[:5], {"text": "trailing space", "label": "Spam "}, *ROWS[6:]]
    folder = _folder(tmp_path, **{"train.jsonl": _jsonl(rows)})
    _prepare_fails(tmp_path, folder, "'Spam '", "datasets.mail.task.labels", "datasets.mail.task.label_map")


def test_a_row_without_the_text_column(tmp_path):
    rows = [*ROWS[:5], {"label": "ham"}, *ROWS[6:]]
    folder = _folder(tmp_path, **{"train.jsonl": _jsonl(rows)})
    _prepare_fails(tmp_path, folder, "datasets.mail.task.text: column 'text'", "empty in 1 rows")


# ---------------------------------------------------------------- CSV, TSV, Parquet


def _csv(sep: str, lines: list[str]) -> str:
    return "".join(line.replace(",", sep) + "\n" for line in lines)


GOOD_CSV = ["text,label", *[f"message number {i},{'spam' if i % 2 else 'ham'}" for i in range(6)]]


@pytest.mark.parametrize("suffix,sep,name", [(".csv", ",", "comma"), (".tsv", "\t", "tab")])
def test_a_ragged_row(tmp_path, suffix, sep, name):
    lines = [*GOOD_CSV[:3], "one too many,ham,extra", *GOOD_CSV[3:]]
    folder = _folder(tmp_path, **{"train.jsonl": None, "test.jsonl": None, f"train{suffix}": _csv(sep, lines), f"test{suffix}": _csv(sep, GOOD_CSV)})
    _download_fails(tmp_path, folder, f"train{suffix}, line 4: 3 fields where the header has 2 (text, label)", f"quote a field that contains a {name}")


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_duplicate_column_names(tmp_path, suffix, sep):
    lines = ["text,text,label", "a,b,ham"]
    folder = _folder(tmp_path, **{"train.jsonl": None, "test.jsonl": None, f"train{suffix}": _csv(sep, GOOD_CSV), f"test{suffix}": _csv(sep, lines)})
    _download_fails(tmp_path, folder, f"test{suffix}, line 1: the header names column(s) ['text'] more than once")


def test_a_missing_header_row(tmp_path):
    folder = _folder(tmp_path, **{"train.jsonl": None, "test.jsonl": None, "train.csv": _csv(",", GOOD_CSV[1:]), "test.csv": _csv(",", GOOD_CSV)})
    _download_fails(tmp_path, folder, "the files' header rows differ", "test.csv: text, label", "train.csv: message number 0, ham", "add it")


def test_no_file_has_a_header_row(tmp_path):
    folder = _folder(tmp_path, **{"train.jsonl": None, "test.jsonl": None, "train.csv": _csv(",", GOOD_CSV[1:]), "test.csv": _csv(",", GOOD_CSV[1:])})
    _prepare_fails(tmp_path, folder, "lacks columns ['text', 'label']", "the file has no header row: add one")


def test_an_empty_parquet_file_and_duplicate_parquet_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = _folder(tmp_path, **{"train.jsonl": None, "test.jsonl": None})
    pq.write_table(pa.table({"text": [r["text"] for r in ROWS], "label": [r["label"] for r in ROWS]}), folder / "train.parquet")
    pq.write_table(pa.table({"text": pa.array([], pa.string()), "label": pa.array([], pa.string())}), folder / "test.parquet")
    _download_fails(tmp_path, folder, "test.parquet: no examples (0 rows)")
    twice = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"]), pa.array(["ham"])], names=["text", "text", "label"])
    pq.write_table(twice, folder / "test.parquet")
    _download_fails(tmp_path, folder, "test.parquet: column(s) ['text'] appear more than once")
