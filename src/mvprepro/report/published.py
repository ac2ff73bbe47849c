"""The published-numbers CSV a config may name (``report.published``): read and checked.

Only values a source actually shows belong there; every error names the file, the row and
the fix. The compare stage sets our numbers beside them; config validation reads the file
early, so a malformed one stops the run before any job starts.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

PUBLISHED_COLUMNS = ("dataset", "backbone", "method", "metric", "attack", "value", "source")
PUBLISHED_METRICS = ("clean_accuracy", "robust_accuracy", "attack_success_rate")
# A published robust accuracy whose source does not name the attack.
UNSPECIFIED = "unspecified"


class PublishedError(ValueError):
    """The published-numbers CSV is malformed."""


def load_published(path: str | Path) -> pd.DataFrame:
    """Read and check the published-numbers CSV; errors name the file, line and fix."""
    path = Path(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(row for row in fh if not row.lstrip().startswith("#"))
        missing = [c for c in PUBLISHED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise PublishedError(f"{path}: missing columns {missing}; the header must be {','.join(PUBLISHED_COLUMNS)}")
        rows = []
        for i, row in enumerate(reader, start=2):
            where = f"{path}, data row {i - 1}"
            if row["metric"] not in PUBLISHED_METRICS:
                raise PublishedError(f"{where}: metric {row['metric']!r} is not one of {list(PUBLISHED_METRICS)}")
            if row["metric"] == "clean_accuracy" and row["attack"]:
                raise PublishedError(f"{where}: clean_accuracy takes no attack; leave the attack column empty")
            if row["metric"] != "clean_accuracy" and not row["attack"]:
                raise PublishedError(f"{where}: {row['metric']} needs an attack (its name, or '{UNSPECIFIED}' if the source does not say)")
            try:
                value = float(row["value"])
            except ValueError:
                raise PublishedError(f"{where}: value {row['value']!r} is not a number") from None
            if not 0 <= value <= 100:
                raise PublishedError(f"{where}: value {value} is not a percentage in [0, 100]")
            if not row["source"].strip():
                raise PublishedError(f"{where}: every published value needs its source (paper table, figure or page)")
            rows.append({**{c: row[c].strip() for c in PUBLISHED_COLUMNS}, "value": value})
    table = pd.DataFrame(rows, columns=list(PUBLISHED_COLUMNS))
    dupes = table.duplicated(["dataset", "backbone", "method", "metric", "attack"], keep=False)
    if dupes.any():
        raise PublishedError(f"{path}: the same cell is given twice: {table[dupes].iloc[0, :5].tolist()}")
    return table
