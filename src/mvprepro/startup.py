"""A faster start for every job: what transformers imports that no stage uses, left out.

Every train, evaluate, tokenize, check_prompts and adaptation job is a process of its own,
and most of its start is imports: ``from transformers import AutoModelForMaskedLM`` takes
about 6.3 s on a 2-core machine, 1.5 s of them scikit-learn, which transformers imports
only for a confidence threshold of assisted text generation (``roc_curve`` in
``transformers.generation.candidate_generator``) when the package is installed. No stage
generates text, and the LPFT probe imports scikit-learn itself where it needs it. Telling
transformers that scikit-learn is absent, before it first looks, removes that from every
job (measured: 6.3 s -> 4.8 s for the import above); the demo runs about 60 such jobs.

It changes no number: only the import. If a later transformers reads the flag elsewhere or
renames it, the hook does nothing (the flag is set on the module whatever it is called).
This is infrastructure of the CLI, not of a stage, so it is no stage's code digest.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

_TARGET = "transformers.utils.import_utils"


class _SkipUnusedImports(importlib.abc.MetaPathFinder):
    """Marks scikit-learn unavailable to transformers right after transformers' import
    utilities run, then steps aside (it acts once per process)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            module._sklearn_available = False  # type: ignore[attr-defined]

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_unused_imports() -> None:
    """Install the hook, unless transformers is already imported (then it is too late)."""
    if _TARGET not in sys.modules and not any(isinstance(f, _SkipUnusedImports) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipUnusedImports())
