"""What an input resolved to, and the checks that it is still what a config (or lock) says.

A download records, in the resource's ``source.json`` (or the attack manifest), exactly what
it read: the hub commit a revision resolved to, a package archive's sha256, a local file or
folder's content digest, and the digest of what it wrote. ``mvprepro lock`` turns those
records into a config overlay that pins each source (``revision: <commit>``,
``sha256: <hash>``); a later download checks the source against it here and stops with an
error naming the source when the hub, the registry or the local files no longer match.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ..digest import source_fingerprint
from .sources import SourceError

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def file_sha256(path: str | Path) -> str:
    """A file's plain sha256, as ``sha256sum`` prints it (archives and url downloads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(path: str | Path, skip: tuple[str, ...] = ()) -> str:
    """The sha256 of a file, or of a folder's files (relative names and bytes, in name
    order, links followed, names in ``skip`` at the top level left out)."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        files = [path]
    else:
        files = sorted(
            (p for p in path.rglob("*") if p.is_file() and p.relative_to(path).parts[0] not in skip),
            key=lambda p: p.relative_to(path).as_posix(),
        )
    for file in files:
        name = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(name.encode() + b"\0")
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(2**20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def tree_size(path: str | Path) -> int:
    """Bytes of a file, or of every file below a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_local(path: str | Path, expected: str | None, what: str) -> str:
    """A local source's content digest; a :class:`SourceError` when ``expected`` (the
    source's ``sha256``) differs: the files changed since the config was locked."""
    got = tree_sha256(path)
    if expected is not None and got != expected:
        raise SourceError(
            f"{what}: the files at {str(path)!r} have sha256 {got}, but {what}.sha256 (the config or its lock file) "
            f"expects {expected}: they changed since the lock was written. Restore them, or lock the config again "
            "(mvprepro lock) if the change is meant"
        )
    return got


def local_resolution(path: str | Path, expected: str | None, what: str) -> dict[str, Any]:
    """What a local source resolved to: its content digest (checked against ``expected``,
    as :func:`check_local`) and its fingerprint as the planner takes it
    (:func:`mvprepro.digest.source_fingerprint`). With the fingerprint the planner can tell,
    without hashing the files again, whether a lock's sha256 is still true of the files
    now (:func:`mvprepro.plan.locks.without_satisfied_pins`)."""
    return {"sha256": check_local(path, expected, what), "fingerprint": source_fingerprint(path)}


def resolve_hub(repo: str, revision: str | None, repo_type: str, what: str) -> str:
    """The commit a hub revision (a branch, tag or commit; default the main branch) points
    to now. Downloading that commit, rather than the revision's name, makes the download and
    its record agree even if the branch moves meanwhile; a commit the repository no longer
    has (a locked revision, history rewritten) stops here with the source's name."""
    from huggingface_hub import HfApi

    try:
        info = HfApi().repo_info(repo, revision=revision, repo_type=repo_type)
    except Exception as err:  # the client raises several kinds (not found, offline, auth)
        raise SourceError(
            f"{what}: the hub cannot resolve revision {revision or 'main'!r} of {repo_type} {repo!r} "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). A locked commit that is gone "
            f"means the repository's history changed: lock again ({what}.revision) only if you trust the new files"
        ) from err
    sha = str(info.sha)
    if revision is not None and COMMIT.match(revision) and sha != revision:
        raise SourceError(f"{what}: the hub resolved commit {revision} to {sha}; {what}.revision must name a commit it has")
    return sha


def pinned(source: dict[str, Any]) -> dict[str, Any]:
    """The keys of a source that a lock sets (for messages and the inputs table)."""
    return {k: source[k] for k in ("revision", "sha256") if k in source}
