"""What kind a raw value read from a dataset file is, as messages about labels name it.

Shared by the download stage (which records a JSON column mixing kinds) and prepare (which
refuses a label column mixing kinds); it imports nothing, so it widens neither's reruns.
"""

from __future__ import annotations

from typing import Any


def kind(value: Any) -> str:
    """``text``, ``number`` or ``true/false`` (else the Python type's name)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__
