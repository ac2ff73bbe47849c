"""What a dataset's task is, and how its raw splits become train / validation / test.

A task fixes the canonical columns every later stage relies on (the text column(s) and an
integer ``label``), the class names, the columns an attack may never change, and how the
source's splits become train / validation / test. It is either one of the paper's presets
(``task: sst2``) or declared inline in the config (``task: {text: ..., labels: ...}``, see
:func:`from_config`); both travel to every job as a plain dict (:meth:`Task.to_spec`), so a
change to a task's definition reruns exactly the jobs that depend on it.

The presets mirror the authors' reference code:

* SST-2: GLUE has no public test labels, so GLUE validation is the test set; GLUE train is
  split into train / validation with a fixed seed; sentences without a letter are dropped.
* AG News: the official test set; train is split into train / validation.
* BoolQ: no public test labels either, so the official validation set is halved (seed 0)
  into validation and test; the training set is subsampled to ``train_fraction`` as the
  reference code does it: the block of one seeded permutation that follows a discarded
  ``validation_fraction`` block (:func:`_reference_subset`). The input
  is ``passage </s></s> question?``: the passage is the first column (the one attacks may
  change and truncation may shorten), the question the second (never changed).

SST-2 and AG News are ordinary declarations run by the generic protocol
(:func:`prepare_splits`); only BoolQ's halving of its validation set and its question
format need code of their own. All text is lowercased, as in the paper (an inline task may
turn this off).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..values import kind

if TYPE_CHECKING:  # datasets is imported lazily: the workflow reads tasks at parse time
    from datasets import Dataset, DatasetDict

HAS_LETTER = re.compile(r"[a-zA-Z]")
# Optional filters of an inline task (``filter:``), by name.
FILTERS = {"has_letter": "drop examples whose text columns have no letter (the SST-2 rule)"}
INLINE_KEYS = ("text", "label", "labels", "label_map", "splits", "protected", "lowercase", "filter")


class ProtocolError(ValueError):
    """The raw dataset does not have what the task's protocol needs."""


class TaskError(ValueError):
    """A task declared in the config is malformed; the message names the config key."""


@dataclass(frozen=True)
class Task:
    """A task: canonical columns, classes, and the protocol that makes its splits.

    ``label_map`` maps raw label values (written as strings: ``"true"``, ``"3"``,
    ``"pos"``) to class ids; without it, string labels are read as class names, booleans
    as 0/1 and integers as class ids. ``validation_split`` ``None`` carves validation from
    the training split (``protocol.validation_fraction``, ``protocol.split_seed``).
    """

    name: str
    text_columns: tuple[str, ...]
    label_names: tuple[str, ...]
    protected_columns: tuple[str, ...] = ()
    label_column: str = "label"
    label_map: dict[str, int] = field(default_factory=dict)
    train_split: str = "train"
    validation_split: str | None = None
    test_split: str = "test"
    lowercase: bool = True
    filter: str | None = None
    preset: str | None = None  # the paper task this is, if any

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def where(self) -> str:
        """How messages name this task: the config key of an inline task, or the preset."""
        return f"task {self.name}" if self.preset else f"datasets.{self.name}.task"

    def to_spec(self) -> dict[str, Any]:
        spec = asdict(self)
        for key in ("text_columns", "label_names", "protected_columns"):
            spec[key] = list(spec[key])
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "Task":
        """The task a job's spec carries (a dict from :meth:`to_spec`)."""
        values = dict(spec)
        for key in ("text_columns", "label_names", "protected_columns"):
            values[key] = tuple(values[key])
        values["label_map"] = {str(k): int(v) for k, v in values.get("label_map", {}).items()}
        return cls(**values)


PRESETS: dict[str, Task] = {
    "sst2": Task(
        "sst2", ("sentence",), ("negative", "positive"), test_split="validation", filter="has_letter", preset="sst2"
    ),
    "ag_news": Task("ag_news", ("text",), ("world", "sports", "business", "sci/tech"), preset="ag_news"),
    "boolq": Task(
        "boolq",
        ("passage", "question"),
        ("false", "true"),
        ("question",),
        label_column="answer",
        validation_split="validation",
        test_split="validation",
        preset="boolq",
    ),
}


def label_key(value: Any) -> str:
    """A raw label value as ``label_map`` writes it (YAML may read ``true:`` as a boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_config(dataset: str, value: Any) -> Task:
    """The task of ``datasets.<dataset>.task``: a preset's name, or an inline declaration.

    Inline keys: ``text`` (a column, or two for pairs), ``label`` (column, default
    ``label``), ``labels`` (class names, in class-id order), ``label_map`` (raw value ->
    class name or id), ``splits`` (``train``, ``test``, optional ``validation`` split
    names), ``protected`` (text columns an attack must never change), ``lowercase``
    (default true), ``filter`` (one of :data:`FILTERS`). Every problem is one
    :class:`TaskError` message naming the key.
    """
    where = f"datasets.{dataset}.task"
    if isinstance(value, str):
        if value not in PRESETS:
            raise TaskError(
                f"{where}: {value!r} is not a preset (one of {sorted(PRESETS)}); declare the task inline "
                "instead (text, labels, ...; see the README's 'Your own dataset')"
            )
        return PRESETS[value]
    if not isinstance(value, dict):
        raise TaskError(f"{where}: a preset name or a mapping (text, labels, ...)")
    errors = [f"{where}.{k}: unknown key (known: {', '.join(INLINE_KEYS)})" for k in value if k not in INLINE_KEYS]
    text = value.get("text")
    text_columns = (text,) if isinstance(text, str) else tuple(text or ())
    if not 1 <= len(text_columns) <= 2 or not all(isinstance(c, str) and c for c in text_columns):
        errors.append(f"{where}.text: one text column, or a list of two for pairs (got {text!r})")
    labels = value.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, (str, int)) for x in labels):
        errors.append(f"{where}.labels: a list of at least two class names, in class-id order (got {labels!r})")
        labels = []
    names = tuple(str(x) for x in labels)
    if len(set(names)) != len(names):
        errors.append(f"{where}.labels: class names must be distinct (got {list(names)})")
    label_map: dict[str, int] = {}
    raw_map = value.get("label_map") or {}
    if not isinstance(raw_map, dict):
        errors.append(f"{where}.label_map: a mapping from raw label values to class names or ids")
        raw_map = {}
    for raw, target in raw_map.items():
        if isinstance(target, str) and target in names:
            label_map[label_key(raw)] = names.index(target)
        elif isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(names):
            label_map[label_key(raw)] = target
        else:
            errors.append(f"{where}.label_map: {raw!r} maps to {target!r}, which is neither a name in labels {list(names)} nor a class id")
    protected = value.get("protected") or []
    protected = (protected,) if isinstance(protected, str) else tuple(protected)
    for column in protected:
        if column not in text_columns:
            errors.append(f"{where}.protected: {column!r} is not a text column (text: {list(text_columns)})")
    if text_columns and set(text_columns) <= set(protected):
        errors.append(f"{where}.protected: every text column is protected; an attack could change nothing")
    splits = value.get("splits") or {}
    unknown = sorted(set(splits) - {"train", "validation", "test"})
    if unknown:
        errors.append(f"{where}.splits: unknown keys {unknown} (use train, validation, test)")
    filter_name = value.get("filter")
    if filter_name is not None and filter_name not in FILTERS:
        errors.append(f"{where}.filter: {filter_name!r} is not one of {sorted(FILTERS)}")
    label_column = value.get("label", "label")
    if not isinstance(label_column, str) or label_column in text_columns:
        errors.append(f"{where}.label: the label column must be a column name other than the text columns (got {label_column!r})")
    if errors:
        raise TaskError("\n  - ".join(errors))
    return Task(
        name=dataset,
        text_columns=text_columns,
        label_names=names,
        protected_columns=protected,
        label_column=label_column,
        label_map=label_map,
        train_split=str(splits.get("train", "train")),
        validation_split=str(splits["validation"]) if splits.get("validation") else None,
        test_split=str(splits.get("test", "test")),
        lowercase=bool(value.get("lowercase", True)),
        filter=filter_name,
    )


def get_task(task: str | dict[str, Any] | Task) -> Task:
    """A task from a job spec (its dict), a preset name, or a :class:`Task`."""
    if isinstance(task, Task):
        return task
    if isinstance(task, dict):
        return Task.from_spec(task)
    try:
        return PRESETS[task]
    except KeyError:
        raise ProtocolError(f"unknown task {task!r}; set datasets.<name>.task to one of {sorted(PRESETS)} or declare it inline") from None


def _require(raw: "DatasetDict", splits: tuple[str, ...], columns: tuple[str, ...], task: Task) -> None:
    for split in dict.fromkeys(splits):
        if split not in raw:
            raise ProtocolError(
                f"{task.where}: the raw dataset has no {split!r} split (it has {sorted(raw)}); "
                + ("check the dataset's source in the config" if task.preset else f"set {task.where}.splits")
            )
        missing = [c for c in columns if c not in raw[split].column_names]
        if missing:
            found = raw[split].column_names
            # A file without a header row: its first example became the column names.
            headless = not task.preset and any(" " in c or c in task.label_names for c in found)
            raise ProtocolError(
                f"{task.where}: split {split!r} lacks columns {missing} (it has {found}); "
                + (
                    "check the dataset's source in the config"
                    if task.preset
                    else f"set {task.where}.text / .label, or rename columns with datasets.{task.name}.source.rename"
                )
                + ("; if those are the values of the first example, the file has no header row: add one naming the columns" if headless else "")
            )


def _lower(ds: "Dataset", columns: tuple[str, ...]) -> "Dataset":
    return ds.map(lambda ex: {c: ex[c].lower() for c in columns}, desc="lowercase")


def _split_train(train: "Dataset", validation_fraction: float, train_fraction: float, seed: int) -> tuple["Dataset", "Dataset"]:
    parts = train.train_test_split(
        test_size=validation_fraction, train_size=train_fraction, seed=seed
    )
    return parts["train"], parts["test"]


def _subsample(train: "Dataset", train_fraction: float, seed: int) -> "Dataset":
    if train_fraction >= 1.0:
        return train
    return train.train_test_split(test_size=round(1.0 - train_fraction, 10), train_size=train_fraction, seed=seed)["train"]


def _reference_subset(train: "Dataset", train_fraction: float, skipped_fraction: float, seed: int) -> "Dataset":
    """BoolQ's training subset as the reference code draws it (``src/utils/funcs.py`` l.74-76):
    ``train_test_split(test_size=val_size, train_size=train_size, seed=0)["train"]``, i.e. of
    one seeded permutation, the ``train_fraction`` block that follows a ``val_size`` block,
    which is discarded (BoolQ's validation data come from its own validation split)."""
    if train_fraction >= 1.0:
        return train
    if train_fraction + skipped_fraction > 1.0 + 1e-9:
        raise ProtocolError(
            f"BoolQ: train_fraction ({train_fraction}) plus validation_fraction ({skipped_fraction}, the block the "
            "reference code's split sets aside before the training subset) exceeds 1; lower one of them"
        )
    return train.train_test_split(test_size=skipped_fraction, train_size=train_fraction, seed=seed)["train"]


def _boolq(raw: "DatasetDict", task: Task, seed: int, train_frac: float, val_frac: float) -> dict[str, "Dataset"]:
    _require(raw, ("train", "validation"), (*task.text_columns, task.label_column), task)
    halves = raw["validation"].train_test_split(test_size=0.5, train_size=0.5, seed=seed)
    train = _reference_subset(raw["train"], train_frac, val_frac, seed)
    splits = {"train": train, "validation": halves["test"], "test": halves["train"]}
    return {
        k: v.map(
            lambda ex: {"label": int(bool(ex["answer"])), "question": ex["question"].rstrip().rstrip("?") + "?"},
            desc="canonical columns",
        )
        for k, v in splits.items()
    }


def _check_labels(ds: "Dataset", task: Task, split: str, where: str) -> None:
    """Every example of a raw split has a label, and labels are all of one kind (class names,
    or class ids) unless ``label_map`` says what each raw value means: one integer among
    class names would otherwise be read as a class id. ``where`` names the dataset and the
    split's file; rows are counted from 1 in the file's order."""
    column = task.label_column
    values = ds[column]
    for i, value in enumerate(values):
        if value is None:
            raise ProtocolError(
                f"{where}, row {i + 1}: column {column!r} is empty (null); give every example a label, or drop the row"
            )
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        first.setdefault(kind(value), i)
    if len(first) > 1 and not task.label_map:
        seen = ", ".join(f"{kind} (first at row {row + 1}: {values[row]!r})" for kind, row in sorted(first.items(), key=lambda kv: kv[1]))
        raise ProtocolError(
            f"{where}: column {column!r} mixes kinds of label: {seen}; write every label the same way "
            f"(class names or class ids), or say what each raw value means in {task.where}.label_map"
        )


def _class_ids(ds: "Dataset", task: Task, split: str) -> "Dataset":
    """``ds`` with an integer ``label`` column read from the task's label column."""
    column = task.label_column
    kind = ds.features[column].dtype if hasattr(ds.features[column], "dtype") else "object"
    if column == "label" and not task.label_map and kind.startswith("int"):
        return ds  # already class ids (checked against the class count below)
    names = {n: i for i, n in enumerate(task.label_names)}

    def convert(value: Any) -> int:
        if task.label_map:
            key = label_key(value)
            if key not in task.label_map:
                raise ProtocolError(
                    f"{task.where}.label_map: split {split!r} has label {value!r}, which the map does not cover "
                    f"(it maps {sorted(task.label_map)}); add it"
                )
            return task.label_map[key]
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            if value not in names:
                raise ProtocolError(
                    f"{task.where}: split {split!r} has label {value!r}, which is not one of labels "
                    f"{list(task.label_names)}; add it to {task.where}.labels or map it with {task.where}.label_map"
                )
            return names[value]
        return int(value)

    values = [convert(v) for v in ds[column]]
    if "label" in ds.column_names:
        ds = ds.remove_columns("label")
    return ds.add_column("label", values)


def _check_text(ds: "Dataset", task: Task, split: str) -> None:
    """Text columns must hold strings in every row (a CSV's empty cell reads as None)."""
    for column in task.text_columns:
        empty = sum(v is None for v in ds[column])
        if empty:
            raise ProtocolError(
                f"{task.where}.text: column {column!r} of split {split!r} is empty in {empty} rows; "
                "fill or drop them in the source"
            )
        if ds.features[column].dtype not in ("string", "large_string"):
            raise ProtocolError(
                f"{task.where}.text: column {column!r} of split {split!r} holds {ds.features[column].dtype}, not text"
            )


def prepare_splits(
    task: str | dict[str, Any] | Task,
    raw: "DatasetDict",
    protocol: dict[str, Any],
    test_only: bool = False,
    dataset: str | None = None,
    files: dict[str, str] | None = None,
    mixed_kinds: dict[str, Any] | None = None,
) -> "DatasetDict":
    """Apply the task's protocol to the raw dataset; return train/validation/test.

    ``test_only`` (a dataset that is only evaluated on, ``evaluate_only``) returns the
    test split alone, so no time goes into preparing and tokenizing a training set.
    ``dataset`` and ``files`` (raw split -> the file it was read from, for a local source)
    only make messages about a bad row name where it is. ``mixed_kinds``: the columns of a
    local JSON source whose values mixed text, numbers and booleans (read as text by the
    download), with where each kind first appears.
    """

    def where(split: str) -> str:
        name = f"datasets.{dataset}" if dataset else get_task(task).where
        file = (files or {}).get(split)
        return f"{name}: {file} (split {split!r})" if file else f"{name}: split {split!r}"

    from datasets import DatasetDict

    task = get_task(task)
    mixed = (mixed_kinds or {}).get(task.label_column)
    if mixed and not task.label_map:
        seen = ", ".join(f"{kind} ({m['file']} row {m['row']}: {m['value']!r})" for kind, m in mixed.items())
        raise ProtocolError(
            f"datasets.{dataset or task.name}: column {task.label_column!r} mixes kinds of label: {seen}; write every "
            f"label the same way (class names or class ids), or say what each raw value means in {task.where}.label_map"
        )
    seed = int(protocol.get("split_seed", 0))
    val_frac = float(protocol.get("validation_fraction", 0.05))
    train_frac = float(protocol.get("train_fraction", 0.95))
    if test_only and task.preset != "boolq":  # BoolQ's test half comes out of its validation split
        _require(raw, (task.test_split,), (*task.text_columns, task.label_column), task)
        _check_labels(raw[task.test_split], task, task.test_split, where(task.test_split))
        _check_text(raw[task.test_split], task, "test")
        splits = {"test": _class_ids(raw[task.test_split], task, "test")}
    elif task.preset == "boolq":
        splits = _boolq(raw, task, seed, train_frac, val_frac)
        if test_only:
            splits = {"test": splits["test"]}
    else:
        named = (task.train_split, task.test_split) + ((task.validation_split,) if task.validation_split else ())
        _require(raw, named, (*task.text_columns, task.label_column), task)
        for split in dict.fromkeys(named):
            _check_labels(raw[split], task, split, where(split))
        if task.validation_split:
            train, validation = _subsample(raw[task.train_split], train_frac, seed), raw[task.validation_split]
        else:
            train, validation = _split_train(raw[task.train_split], val_frac, train_frac, seed)
        splits = {"train": train, "validation": validation, "test": raw[task.test_split]}
        if task.filter == "has_letter":
            splits = {
                k: v.filter(lambda ex: all(HAS_LETTER.search(ex[c]) is not None for c in task.text_columns), desc="drop letterless")
                for k, v in splits.items()
            }
        for k, v in splits.items():
            _check_text(v, task, k)
        splits = {k: _class_ids(v, task, k) for k, v in splits.items()}

    keep = (*task.text_columns, "label")
    out = {}
    for split, ds in splits.items():
        ds = ds.select_columns(list(keep))
        if task.lowercase:
            ds = _lower(ds, task.text_columns)
        bad = [y for y in set(ds["label"]) if not 0 <= int(y) < task.num_labels]
        if bad:
            hint = "" if task.preset else f"; declare every class in {task.where}.labels"
            raise ProtocolError(
                f"{task.where}: split {split!r} has labels {sorted(bad)} outside "
                f"0..{task.num_labels - 1} (an unlabelled test split?{hint})"
            )
        if len(ds) == 0:
            raise ProtocolError(f"{task.where}: split {split!r} is empty after the protocol")
        out[split] = ds
    return DatasetDict(out)
