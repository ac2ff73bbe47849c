"""What a lock changes in a plan: nothing where it pins what a finished download already is.

``mvprepro lock`` pins every source to what its download resolved to. The planner reads the
finished downloads' own records (``source.json``, the attack manifest) to keep a pin out of
a download's spec where the download already satisfies it, so a lock added to a finished
run plans nothing that was downloaded, trained or attacked (only the inputs table, which
reports the pins), and a lock that pins something else reruns what it changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import layout


# The keys a lock sets on a source (mvprepro lock): a hub commit, an archive's or files' sha256.
PINS = ("revision", "sha256")


def read_record(path: str) -> dict[str, Any] | None:
    """A finished download's record (``source.json``, the attack manifest), if there is one."""
    file = Path(path)
    try:
        return json.loads(file.read_text()) if file.is_file() else None
    except (OSError, ValueError):
        return None


def without_satisfied_pins(settings: Any, made_with: Any, resolved: Any, fingerprint: Any = None) -> Any:
    """A source's settings without the pins that its finished download already satisfies.

    A lock (``mvprepro lock``) pins each source to what its download resolved to. Added to
    a finished run, it changes nothing that was downloaded, so it must plan nothing: a pin
    joins the spec only where the download was made with it (``made_with``, the settings
    the download recorded) or where what the download resolved to (``resolved``) differs
    from it, or where there is no finished download. So a lock that pins exactly what a run
    fetched keeps every spec as it was, and a lock that pins something else reruns the
    download and everything after it. A local source (``fingerprint``: its files' now)
    keeps its pin once its files differ from those the download read, so the download runs
    again under the lock and stops if the files no longer match it. This is the one place
    where a spec reads the disk (the downloads' own records), and it only ever removes a
    pin that is already true.
    """
    if not isinstance(settings, dict) or not isinstance(resolved, dict):
        return settings
    if fingerprint is not None and resolved.get("fingerprint") != fingerprint:
        return settings
    made_with = made_with if isinstance(made_with, dict) else {}
    return {k: v for k, v in settings.items() if not (k in PINS and k not in made_with and resolved.get(k) == v)}


def drop_satisfied_attack_pins(settings: dict[str, Any], local: dict[str, Any]) -> None:
    """:func:`without_satisfied_pins` for each pinned attack resource, against the
    finished download's manifest (embeddings, NLTK data, BAE's masked LM); ``local``:
    the fingerprints of the local ones, keyed as :func:`attack_resource_paths`."""
    manifest = read_record(layout.ATTACK_MANIFEST) or {}
    for name, entry in settings["embeddings"].items():
        recorded = (manifest.get("embeddings") or {}).get(name) or {}
        entry["source"] = without_satisfied_pins(entry["source"], recorded.get("source"), recorded.get("resolved"), local.get(f"embedding_{name}"))
    nltk, recorded = settings["nltk"], manifest.get("nltk") or {}
    if isinstance(nltk, dict) and "packages" in nltk:
        made_with = (recorded.get("settings") or {}).get("packages") or {}
        resolved = recorded.get("resolved") or {}
        packages = {k: without_satisfied_pins(v, made_with.get(k), resolved.get(k)) for k, v in nltk["packages"].items()}
        settings["nltk"] = {**nltk, "packages": packages}  # a copy: the config stays as it is
    elif isinstance(nltk, dict):
        settings["nltk"] = without_satisfied_pins(nltk, recorded.get("settings"), recorded.get("resolved"), local.get("nltk"))
    if "masked_lm" in settings:
        recorded = manifest.get("masked_lm") or {}
        settings["masked_lm"]["source"] = without_satisfied_pins(
            settings["masked_lm"]["source"], recorded.get("source"), recorded.get("resolved"), local.get("masked_lm")
        )
