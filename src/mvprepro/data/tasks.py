"""The three tasks of the paper and their data protocol.

A task fixes the canonical columns every later stage relies on (the text column(s) and an
integer ``label``) and how the public splits become train / validation / test. The
protocol mirrors the authors' reference code:

* SST-2: GLUE has no public test labels, so GLUE validation is the test set; GLUE train is
  split into train / validation with a fixed seed; sentences without a letter are dropped.
* AG News: the official test set; train is split into train / validation.
* BoolQ: no public test labels either, so the official validation set is halved (seed 0)
  into validation and test; the training set is subsampled to ``train_fraction``. The input
  is ``passage </s></s> question?``: the passage is the first column (the one attacks may
  change and truncation may shorten), the question the second (never changed).

All text is lowercased, as in the paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # datasets is imported lazily: the workflow reads TASKS at parse time
    from datasets import Dataset, DatasetDict

HAS_LETTER = re.compile(r"[a-zA-Z]")


class ProtocolError(ValueError):
    """The raw dataset does not have what the task's protocol needs."""


@dataclass(frozen=True)
class Task:
    name: str
    text_columns: tuple[str, ...]
    num_labels: int
    label_names: tuple[str, ...]
    # Columns an attack may never modify (the BoolQ question).
    protected_columns: tuple[str, ...] = ()


TASKS: dict[str, Task] = {
    "sst2": Task("sst2", ("sentence",), 2, ("negative", "positive")),
    "ag_news": Task("ag_news", ("text",), 4, ("world", "sports", "business", "sci/tech")),
    "boolq": Task("boolq", ("passage", "question"), 2, ("false", "true"), ("question",)),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ProtocolError(
            f"unknown task {name!r}; set datasets.<name>.task to one of {sorted(TASKS)}"
        ) from None


def _require(raw: "DatasetDict", splits: tuple[str, ...], columns: tuple[str, ...], task: str) -> None:
    for split in splits:
        if split not in raw:
            raise ProtocolError(
                f"task {task}: the raw dataset has no {split!r} split (it has {sorted(raw)}); "
                "check the dataset's source in the config"
            )
        missing = [c for c in columns if c not in raw[split].column_names]
        if missing:
            raise ProtocolError(
                f"task {task}: split {split!r} lacks columns {missing} "
                f"(it has {raw[split].column_names})"
            )


def _lower(ds: "Dataset", columns: tuple[str, ...]) -> "Dataset":
    return ds.map(lambda ex: {c: ex[c].lower() for c in columns}, desc="lowercase")


def _split_train(train: "Dataset", validation_fraction: float, train_fraction: float, seed: int) -> tuple["Dataset", "Dataset"]:
    parts = train.train_test_split(
        test_size=validation_fraction, train_size=train_fraction, seed=seed
    )
    return parts["train"], parts["test"]


def prepare_splits(task_name: str, raw: "DatasetDict", protocol: dict[str, Any]) -> "DatasetDict":
    """Apply the task's protocol to the raw hub-format dataset; return train/validation/test."""
    from datasets import DatasetDict

    task = get_task(task_name)
    seed = int(protocol.get("split_seed", 0))
    val_frac = float(protocol.get("validation_fraction", 0.05))
    train_frac = float(protocol.get("train_fraction", 0.95))
    if task.name == "sst2":
        _require(raw, ("train", "validation"), ("sentence", "label"), task.name)
        train, validation = _split_train(raw["train"], val_frac, train_frac, seed)
        splits = {"train": train, "validation": validation, "test": raw["validation"]}
        splits = {
            k: v.filter(lambda ex: HAS_LETTER.search(ex["sentence"]) is not None, desc="drop letterless")
            for k, v in splits.items()
        }
    elif task.name == "ag_news":
        _require(raw, ("train", "test"), ("text", "label"), task.name)
        train, validation = _split_train(raw["train"], val_frac, train_frac, seed)
        splits = {"train": train, "validation": validation, "test": raw["test"]}
    elif task.name == "boolq":
        _require(raw, ("train", "validation"), ("passage", "question", "answer"), task.name)
        halves = raw["validation"].train_test_split(test_size=0.5, train_size=0.5, seed=seed)
        train = raw["train"]
        if train_frac < 1.0:
            train = train.train_test_split(
                test_size=round(1.0 - train_frac, 10), train_size=train_frac, seed=seed
            )["train"]
        splits = {"train": train, "validation": halves["test"], "test": halves["train"]}
        splits = {
            k: v.map(
                lambda ex: {
                    "label": int(bool(ex["answer"])),
                    "question": ex["question"].rstrip().rstrip("?") + "?",
                },
                desc="canonical columns",
            )
            for k, v in splits.items()
        }
    else:  # pragma: no cover - TASKS and this function move together
        raise ProtocolError(f"no protocol for task {task.name}")

    keep = (*task.text_columns, "label")
    out = {}
    for split, ds in splits.items():
        ds = ds.select_columns(list(keep))
        ds = _lower(ds, task.text_columns)
        bad = [y for y in set(ds["label"]) if not 0 <= int(y) < task.num_labels]
        if bad:
            raise ProtocolError(
                f"task {task.name}: split {split!r} has labels {sorted(bad)} outside "
                f"0..{task.num_labels - 1} (an unlabelled test split?)"
            )
        out[split] = ds
    return DatasetDict(out)
