"""The version of the code a run is made with, for the inputs table.

A git commit when the workflow folder is the top of a git checkout (with a note when files
tracked there have uncommitted changes), else the package's version. The inputs job's spec
holds it, so the table names the code of the latest run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .. import __version__


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(root: str | Path) -> str:
    root = Path(root).resolve()
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:  # not a checkout of its own (e.g. a copy inside another repository)
        return f"mvprepro {__version__} (not a git checkout)"
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return f"mvprepro {__version__} (a git checkout without commits)"
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"git {commit}" + (" with uncommitted changes" if dirty else "")
