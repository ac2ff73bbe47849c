"""``mvprepro migrate-layout``: move results written by the previous results layout.

Until the layout of :mod:`mvprepro.plan.layout` (then ``mvprepro.config.layout``), a run had a size level only when its
config set ``train_sizes`` (``.../<method>/seed-0``) and its evaluations were spread over
twin rules: the run's own dataset at the top of the run folder (``clean.json``,
``attacks/``), another dataset under ``ood/<target>/`` (rules ``evaluate_ood``,
``attack_ood``, ``merge_attack_ood``). Now every run has a size (``size-full`` by default)
and every evaluation its target (``eval-<target>``).

Why a command rather than a rerun: the results are hours of training and attacks, and they
are still exactly what the config describes. The command renames the files (results, logs,
benchmark files) and rewrites Snakemake's per-file records (``.snakemake/metadata``) to the
new paths and rule names, so Snakemake's rerun checks (parameters, code, inputs, times)
carry over and a dry run afterwards plans nothing that was finished. What it does not do:
change a job's settings. A run whose spec changed with the new layout (only the ``full``
size of a config that lists ``full`` in ``train_sizes``: it is now the same run as the
whole training set of any other config) is planned again by the next run.

It is safe to interrupt and run again: every path of the new layout maps to itself.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import sys
from pathlib import Path

from ..data.subsets import FULL

RULE_RENAMES = {"evaluate_ood": "evaluate", "attack_ood": "attack", "merge_attack_ood": "merge_attack"}
# Per-job folders below logs/ and results/benchmarks/ that hold one file per run or evaluation.
PER_RUN = ("train",)
PER_EVALUATION = ("evaluate", "attack", "merge_attack")


class MigrationError(RuntimeError):
    """The folder cannot be migrated as it is (a run in progress, a clash of paths)."""


def _job(parts: list[str]) -> tuple[list[str], list[str]] | None:
    """Split ``dataset/backbone/method/[size-X/]seed-S...`` into the new job levels (size
    always present) and what follows the seed; None if ``parts`` is not a job path."""
    if len(parts) < 4:
        return None
    head, rest = parts[:3], parts[3:]
    if rest[0].startswith("size-"):
        size, rest = rest[0], rest[1:]
    else:
        size = f"size-{FULL}"
    if not rest or not rest[0].startswith("seed-"):
        return None
    return [*head, size], rest


def _run_path(parts: list[str]) -> list[str] | None:
    """``results/runs/<job>/...``: the size level, and the evaluation level for files of an
    evaluation (``clean.json``, ``attacks/``, ``ood/<target>/``)."""
    job = _job(parts)
    if job is None:
        return None
    levels, (seed, *inside) = job
    dataset = parts[0]
    if inside[:1] == ["clean.json"] or inside[:1] == ["attacks"]:
        inside = [f"eval-{dataset}", *inside]
    elif inside[:1] == ["ood"] and len(inside) >= 2:
        inside = [f"eval-{inside[1]}", *inside[2:]]
    return [*levels, seed, *inside]


def _job_file(rule: str, parts: list[str]) -> tuple[str, list[str]] | None:
    """A log or benchmark file below ``<rule>/``: the new rule folder and path."""
    new_rule = RULE_RENAMES.get(rule, rule)
    job = _job(parts)
    if job is None:
        return None
    levels, (seed, *inside) = job
    dataset = parts[0]
    if new_rule in PER_RUN:
        return new_rule, [*levels, seed, *inside]
    if rule == "evaluate" and not inside:  # seed-S.log -> seed-S/eval-<dataset>.log
        stem, dot, ext = seed.partition(".")
        return new_rule, [*levels, stem, f"eval-{dataset}{dot}{ext}"]
    if rule == "evaluate_ood" and len(inside) == 1:  # seed-S/<target>.log
        return new_rule, [*levels, seed, f"eval-{inside[0]}"]
    if rule in ("attack", "merge_attack") and len(inside) == 1:  # seed-S/<attack>.log
        return new_rule, [*levels, seed, f"eval-{dataset}", *inside]
    if rule in ("attack_ood", "merge_attack_ood") and len(inside) == 2:  # seed-S/<target>/<attack>.log
        return new_rule, [*levels, seed, f"eval-{inside[0]}", inside[1]]
    return new_rule, [*levels, seed, *inside]


def new_path(path: str) -> str:
    """Where a path of the previous layout lives now (paths relative to the workflow
    folder; any other path, and every path of the new layout, maps to itself)."""
    parts = Path(path).parts
    if parts[:2] == ("results", "runs"):
        moved = _run_path(list(parts[2:]))
        return str(Path("results", "runs", *moved)) if moved else path
    for root in (("logs",), ("results", "benchmarks")):
        n = len(root)
        rule = parts[n] if len(parts) > n else None
        if parts[:n] == root and rule in (*PER_RUN, *PER_EVALUATION, *RULE_RENAMES):
            moved_job = _job_file(rule, list(parts[n + 1 :]))
            if moved_job:
                new_rule, rest = moved_job
                return str(Path(*root, new_rule, *rest))
    return path


def _record_id(metadata: Path, record: Path) -> str:
    """The path a Snakemake record file stands for (its name is the path, url-safe base64,
    split into folders of at most the file-name length with '@' marking continued parts)."""
    chunks = [part.lstrip("@") for part in record.relative_to(metadata).parts]
    return base64.urlsafe_b64decode("".join(chunks).encode()).decode()


def _record_path(metadata: Path, path: str) -> Path:
    max_len = os.pathconf(metadata, "PC_NAME_MAX") if os.name == "posix" else 255
    max_len = max_len or 255
    b64 = base64.urlsafe_b64encode(path.encode()).decode()
    chunks = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    return metadata.joinpath(*["@" + c for c in chunks[:-1]], chunks[-1])


def _rename_rules(text: str) -> str:
    """A spec (as JSON text) with the twin rules' names replaced (the cost table's jobs)."""
    for old, new in RULE_RENAMES.items():
        text = text.replace(f'"rule": "{old}"', f'"rule": "{new}"')
    return text


def _rename_cost_rows(root: Path, dry_run: bool) -> int:
    """``results/tables/costs.csv`` names each job's rule in its first column: the twin
    rules' rows take the merged rule's name (their target column already tells them apart).
    The file keeps its modification time: its content is what the new rules give."""
    path = root / "results" / "tables" / "costs.csv"
    if not path.is_file():
        return 0
    text = path.read_text()
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "rule" not in rows[0]:
        return 0
    column = rows[0].index("rule")
    for row in rows[1:]:
        if len(row) > column:
            row[column] = RULE_RENAMES.get(row[column], row[column])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    if out.getvalue() == text:
        return 0
    if not dry_run:
        stat = path.stat()
        tmp = path.with_name(path.name + ".migrating")
        tmp.write_text(out.getvalue())
        tmp.replace(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return 1


def _rewrite(record: dict) -> dict:
    """A Snakemake record with its paths and rule name moved to the new layout."""
    out = dict(record)
    if out.get("rule") in RULE_RENAMES:
        out["rule"] = RULE_RENAMES[out["rule"]]
    for key in ("input", "log"):
        if isinstance(out.get(key), list):
            out[key] = sorted(new_path(p) for p in out[key])
    if isinstance(out.get("input_checksums"), dict):
        out["input_checksums"] = {new_path(k): v for k, v in out["input_checksums"].items()}
    if isinstance(out.get("params"), list):  # the cost table's spec names each job's rule
        out["params"] = [_rename_rules(p) if isinstance(p, str) else p for p in out["params"]]
    if isinstance(out.get("shellcmd"), str):  # informational: the command as it ran
        out["shellcmd"] = " ".join(new_path(w) for w in out["shellcmd"].split(" "))
    return out


def _moves(root: Path) -> list[tuple[Path, Path]]:
    """Every rename, largest unit first: a whole run folder (size level added), then the
    evaluation files inside run folders, then single log and benchmark files."""
    moves: list[tuple[Path, Path]] = []
    runs = root / "results" / "runs"
    if runs.is_dir():
        # (where the run folder is now, where it will be) for every run folder
        folders = [(seed, seed) for seed in sorted(runs.glob("*/*/*/size-*/seed-*"))]
        for seed in sorted(runs.glob("*/*/*/seed-*")):  # no size level: the whole folder
            moved = root / new_path(str(seed.relative_to(root)))
            moves.append((seed, moved))
            folders.append((seed, moved))
        for now, seed in folders:
            dataset = seed.relative_to(runs).parts[0]
            for entry in ("clean.json", "attacks"):
                if (now / entry).exists():
                    moves.append((seed / entry, seed / f"eval-{dataset}" / entry))
            if (now / "ood").is_dir():
                for target in sorted((now / "ood").iterdir()):
                    moves.append((seed / "ood" / target.name, seed / f"eval-{target.name}"))
    for base in (root / "logs", root / "results" / "benchmarks"):
        for rule in (*PER_RUN, *PER_EVALUATION, *RULE_RENAMES):
            folder = base / rule
            if not folder.is_dir():
                continue
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = str(file.relative_to(root))
                if new_path(rel) != rel:
                    moves.append((file, root / new_path(rel)))
    return moves


def migrate(root: Path, dry_run: bool = False, out=sys.stdout) -> int:
    """Move the results, logs, benchmark files and Snakemake records below ``root`` to the
    current layout; returns the number of renames (files, folders and records)."""
    root = Path(root)
    locks = root / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        raise MigrationError(
            f"{locks}: a Snakemake run holds this folder; let it finish (or, if it was killed, "
            "run `snakemake --unlock` with the same config) and migrate again"
        )
    moves = _moves(root)
    clashes = [(s, d) for s, d in moves if d.exists() and s.exists()]
    if clashes:
        listed = "; ".join(f"{s.relative_to(root)} -> {d.relative_to(root)}" for s, d in clashes[:5])
        raise MigrationError(
            f"{len(clashes)} results exist in both layouts ({listed}); the new ones were made by "
            "a run of the new layout: delete whichever you do not want to keep and migrate again"
        )
    records = []
    for kind in ("metadata", "incomplete"):
        folder = root / ".snakemake" / kind
        if not folder.is_dir():
            continue
        for record in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                path = _record_id(folder, record)
            except (ValueError, UnicodeDecodeError):
                continue  # not a record of Snakemake's (e.g. a migration marker)
            records.append((kind, folder, record, path))
    done = 0
    for source, dest in moves:
        print(f"{source.relative_to(root)} -> {dest.relative_to(root)}", file=out)
        if not dry_run:
            dest.parent.mkdir(parents=True, exist_ok=True)
            source.rename(dest)
        done += 1
    for kind, folder, record, path in records:
        moved = new_path(path)
        text = record.read_text()
        if kind == "metadata":
            try:
                content = json.loads(text)
            except json.JSONDecodeError:
                continue
            rewritten = json.dumps(_rewrite(content))
            if moved == path and rewritten == json.dumps(content):
                continue
            text = rewritten
        elif moved == path:
            continue
        done += 1
        if dry_run:
            continue
        target = _record_path(folder, moved)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".migrating")
        tmp.write_text(text)
        tmp.replace(target)
        if target != record:
            record.unlink()
    done += _rename_cost_rows(root, dry_run)
    if not dry_run:
        for base in (root / "results" / "runs", root / "logs", root / "results" / "benchmarks"):
            _prune_empty(base)
    return done


def _prune_empty(folder: Path) -> None:
    """Remove the folders the moves left empty (the old size-less and ood/ levels)."""
    if not folder.is_dir():
        return
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mvprepro migrate-layout",
        description="Move results of the previous results layout (runs without a size level, "
        "ood/ folders) to the current one, with Snakemake's records, so nothing reruns.",
    )
    parser.add_argument("--directory", default=".", help="the workflow folder (default: here)")
    parser.add_argument("--dry-run", action="store_true", help="print the moves, change nothing")
    args = parser.parse_args(argv)
    try:
        n = migrate(Path(args.directory), dry_run=args.dry_run)
    except MigrationError as err:
        print(f"migrate-layout: {err}", file=sys.stderr)
        return 1
    verb = "would move" if args.dry_run else "moved"
    print(f"migrate-layout: {verb} {n} files, folders and records", file=sys.stderr)
    return 0
