"""Code the config names by import path: your own method kinds and attack recipes.

``methods.<name>.kind`` and ``attacks.<name>.recipe`` accept ``package.module:name``. The
module is looked up on ``sys.path`` with the working directory first (the folder Snakemake
runs in, and jobs run in), so a module of your project needs no installation:
``examples.own_method.start_token_bias:StartTokenBias`` is the file
``examples/own_method/start_token_bias.py``. The built-in kinds are registered the same way
(:data:`mvprepro.names.BUILTIN_KINDS` maps each name to its class's import path).

Your module's code is part of what a job was built from: :func:`code_digest` hashes its
source and that of every module of the same folder tree it imports, and the job's
provenance includes it (:mod:`mvprepro.plan.plan`), so editing it reruns exactly the
jobs that use it. Every failure (not found, no such name, raised on import) is a
:class:`PluginError` naming the config key and the import path.

This module imports only the standard library: the workflow reads it while planning.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


class PluginError(ValueError):
    """An import path in the config cannot be used; the message names the key and the path."""


def is_import_path(value: str) -> bool:
    """``package.module:name`` (a TextAttack recipe name, ``textattack:<name>``, is not one)."""
    return bool(IMPORT_PATH.match(value)) and not value.startswith("textattack:")


def _on_path() -> None:
    """The working directory first on ``sys.path``, as ``python -m`` puts it for jobs."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path[:1]:
        sys.path.insert(0, cwd)


def module_file(path: str, key: str) -> Path:
    """The source file of the module of ``path``, found without running it."""
    module = path.split(":")[0]
    _on_path()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as err:  # a parent package that does not exist or fails
        raise PluginError(f"{key}: cannot find module {module!r} of {path!r} ({err}); the path is looked up from the working directory and sys.path") from err
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise PluginError(
            f"{key}: no module {module!r} for {path!r}: write it as a .py file under the working directory "
            f"({Path.cwd()}), e.g. {module.replace('.', '/')}.py, or install it"
        )
    return Path(spec.origin)


def check_defined(path: str, key: str) -> Path:
    """That ``path``'s module exists and defines its name at top level, read without running it
    (an attack module imports TextAttack, which must not load while the workflow plans)."""
    file = module_file(path, key)
    name = path.split(":")[1]
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except SyntaxError as err:
        raise PluginError(f"{key}: {path!r}: {file} has a syntax error at line {err.lineno}: {err.msg}") from err
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    if name not in defined:
        raise PluginError(f"{key}: {path!r}: {file} defines no {name!r} at top level")
    return file


def resolve(path: str, key: str) -> Any:
    """Import ``path`` and return the object it names."""
    module, name = path.split(":")
    check_defined(path, key)
    try:
        loaded = importlib.import_module(module)
    except Exception as err:
        raise PluginError(f"{key}: importing {module!r} (for {path!r}) raised {type(err).__name__}: {err}") from err
    try:
        return getattr(loaded, name)
    except AttributeError as err:
        raise PluginError(f"{key}: module {module!r} has no {name!r} (from {path!r})") from err


def _local_imports(file: Path, root: Path) -> set[Path]:
    """Files under ``root`` (the sys.path entry the module was found in) that ``file`` imports."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    package = file.parent.relative_to(root).parts
    found: set[Path] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - (node.level - 1)] if node.level else []) + (node.module.split(".") if node.module else [])
            names = [".".join(base)] + [".".join([*base, a.name]) for a in node.names]
        for name in names:
            parts = [p for p in name.split(".") if p]
            for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
                if parts and candidate.is_file():
                    found.add(candidate)
    return found


def code_digest(path: str, key: str) -> str:
    """A digest of the source of ``path``'s module and of the modules beside it that it
    imports (recursively, within the folder tree it was found in)."""
    file = module_file(path, key)
    depth = len(path.split(":")[0].split("."))
    root = file.parents[depth - 1] if file.name != "__init__.py" else file.parents[depth]
    seen: set[Path] = set()
    todo = [file]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_local_imports(current, root) - seen)
    digest = hashlib.sha256()
    for f in sorted(seen):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
