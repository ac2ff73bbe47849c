"""Digests that tell Snakemake what a job was built from, so that reruns are derived, not listed.

Three kinds of digest feed each job's ``params`` (``workflow/rules/common.smk``):

- :func:`code_digest`: the source of every module of this package that a stage's entry
  module can import, found by walking ``import`` statements (top-level and inside
  functions). A new helper module joins a stage's digest the moment the stage imports it;
  nobody keeps a list by hand.
- :func:`source_fingerprint`: the names, sizes and modification times of the files of a
  local source (a dataset file, an embedding, an NLTK folder). Snakemake only compares the
  modification time of a *directory* with its outputs, which does not change when a file
  inside is edited; the fingerprint does.
- :func:`digest_of`: a short digest of any JSON-able value, used to chain a job's own
  settings with the digests of the jobs that made its inputs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGE = __package__ or "mvprepro"
ROOT = Path(__file__).resolve().parent


def digest_of(value: Any) -> str:
    """A 16-hex-digit digest of a JSON-able value (keys sorted, so dict order never matters)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _module_file(module: str) -> Path | None:
    """The file of a dotted module name of this package (``mvprepro.train.models``), if any."""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    parts = module.split(".")[1:]
    base = ROOT.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _module_name(file: Path) -> str:
    rel = file.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imports(file: Path) -> set[str]:
    """Dotted names of this package's modules that ``file`` imports, anywhere in its body."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    module = _module_name(file)
    package = module if file.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from . import models` names a module; `from .tasks import PRESETS` names an object.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
    closure = set()
    for name in found:
        parts = name.split(".")
        closure.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {name for name in closure if _module_file(name) is not None}


@lru_cache(maxsize=None)
def import_closure(entry: str) -> tuple[str, ...]:
    """Every module of this package that importing ``entry`` can load, sorted."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        file = _module_file(name)
        if file is None:
            raise ValueError(f"{name!r} is not a module of the {PACKAGE} package")
        seen.add(name)
        # Importing a.b.c runs the __init__ of a and of a.b first.
        parents = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        todo.extend((_imports(file) | parents) - seen)
    return tuple(sorted(seen))


@lru_cache(maxsize=None)
def code_digest(entry: str) -> str:
    """A digest of the source of ``entry``'s import closure (and the package data it reads)."""
    digest = hashlib.sha256()
    for name in import_closure(entry):
        if name == PACKAGE:
            continue  # the package's __init__ holds only its version: a release reruns nothing
        file = _module_file(name)
        assert file is not None
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
        # Data files shipped beside a module (e.g. the TextFooler stopword list) are code too.
        if file.name == "__init__.py":
            for data in sorted(file.parent.glob("*.txt")):
                digest.update(data.name.encode() + b"\0" + data.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# Files up to this size are fingerprinted by content; larger ones by size and mtime.
CONTENT_LIMIT = 32 * 2**20


def _content_digest(file: str) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def source_fingerprint(path: str | os.PathLike[str]) -> list[list[Any]]:
    """(relative name, content digest) of a local file, or of every file below a folder.

    It changes whenever a file inside a folder is edited, added, removed or replaced, which
    a folder's own modification time (all Snakemake compares for a folder) does not. Files
    up to CONTENT_LIMIT are digested by content, so touching or restoring a file changes
    nothing; larger ones (a multi-GB dataset) by size and modification time, to keep
    planning fast.
    """
    root = Path(path)
    if not root.exists():
        return [[str(root), "missing"]]
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    rows: list[list[Any]] = []
    for file in files:
        stat = file.stat()
        name = file.relative_to(root).as_posix() if file != root else file.name
        if stat.st_size <= CONTENT_LIMIT:
            rows.append([name, _content_digest(str(file))])
        else:
            rows.append([name, stat.st_size, stat.st_mtime_ns])
    return rows
