"""``mvprepro lock``: pin every input of a config to what its downloads resolved to.

After the download jobs of a config have run, each resource records what it read
(:mod:`mvprepro.download.pins`): the hub commit of a revision, a package archive's sha256,
the content digest of a local file or folder. This command writes those records as a
config overlay, one entry per source::

    datasets:
      sst2: {source: {revision: 3b1ff9a...}}        # a hub source: the commit
    backbones:
      minilm: {source: {sha256: 9c2e...}}           # a package source: the archive

Passed as a second config file (``--configfile config.yaml config.lock.yaml``, which
Snakemake merges key by key), it makes every later download fetch exactly those inputs and
stop with an error naming the source when the hub, the registry or the local files no longer
match. Builder sources (the demo's generated data and models) are code, pinned by the code's
version; they get no entry.

Added to a finished run, the lock pins exactly what it downloaded, so it changes no
download's spec (:func:`mvprepro.plan.locks.without_satisfied_pins`) and nothing reruns
but the inputs table, which reports the pins; a lock that pins something else reruns the
downloads it changes and everything after them. Lock after the downloads
(``snakemake --until download_dataset download_backbone download_attack_resources``), before
or after the full run.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"
PINS = ("revision", "sha256")


class LockError(RuntimeError):
    """A resource is missing, or was downloaded from another source than the config names."""


def load_config(files: list[str | Path], schema: str | Path = SCHEMA) -> dict[str, Any]:
    """The configs merged as Snakemake merges ``--configfile`` files, with the schema's defaults."""
    from snakemake.utils import update_config, validate

    config: dict[str, Any] = {}
    for file in files:
        update_config(config, yaml.safe_load(Path(file).read_text()) or {})
    validate(config, str(schema))
    return config


def _unpinned(source: dict[str, Any]) -> dict[str, Any]:
    """A source's settings as its download records them, without the keys a lock sets."""
    settings = {k: v for k, v in source.items() if k not in PINS and k != "path"}
    if "path" in source:
        settings["local"] = True
    return settings


def _pin(source: dict[str, Any], record: dict[str, Any] | None, what: str, where: Path) -> dict[str, Any]:
    """The overlay entry of one source: its commit (hub) or sha256 (package, url, path)."""
    if "builder" in source or "textattack" in source:
        return {}  # code (the demo's builders), or a loader that fetches its own fixed files
    if record is None:
        raise LockError(f"{what}: {where} is missing; run the download jobs of this config first")
    if "source" in record and _unpinned(record["source"]) != _unpinned(source):
        raise LockError(
            f"{what}: {where} was downloaded from {record['source']}, not from the source the config names now "
            f"({source}); run the download jobs again, then lock"
        )
    resolved = record.get("resolved")
    if not resolved:
        raise LockError(
            f"{what}: {where} records no resolved revision or hash (downloaded by an older version): "
            "run its download job again (snakemake --forcerun <rule>), then lock"
        )
    key = "revision" if "hub" in source else "sha256"
    if key not in resolved:
        raise LockError(f"{what}: {where} records {sorted(resolved)}, not the {key} this kind of source is locked by")
    return {"source": {key: resolved[key]}}


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def lock(config: dict[str, Any], root: str | Path = ".") -> dict[str, Any]:
    """The lock overlay of ``config`` from the resources under ``root`` (the workflow folder)."""
    root = Path(root)
    overlay: dict[str, Any] = {}
    for section, folder in (("datasets", "resources/datasets"), ("backbones", "resources/backbones")):
        for name, entry in config[section].items():
            where = root / folder / name / "source.json"
            pin = _pin(entry["source"], _read(where), f"{section}.{name}.source", where)
            if pin:
                overlay.setdefault(section, {})[name] = pin
    res = config["attack_resources"]
    where = root / "resources" / "attack" / "manifest.json"
    manifest = _read(where)
    attack: dict[str, Any] = {}
    for name, entry in res["embeddings"].items():
        recorded = (manifest or {}).get("embeddings", {}).get(name) if manifest else None
        pin = _pin(entry["source"], recorded, f"attack_resources.embeddings.{name}.source", where)
        if pin:
            attack.setdefault("embeddings", {})[name] = pin
    nltk = res["nltk"]
    if isinstance(nltk, dict):
        if manifest is None:
            raise LockError(f"attack_resources.nltk: {where} is missing; run the download jobs of this config first")
        resolved = manifest["nltk"].get("resolved")
        if not resolved:
            raise LockError(f"attack_resources.nltk: {where} records no hashes (downloaded by an older version): download again, then lock")
        if "packages" in nltk:
            attack["nltk"] = {"packages": {k: {"sha256": resolved[k]["sha256"]} for k in nltk["packages"]}}
        else:
            attack["nltk"] = {"sha256": resolved["sha256"]}
    if "masked_lm" in res:
        pin = _pin(res["masked_lm"]["source"], (manifest or {}).get("masked_lm"), "attack_resources.masked_lm.source", where)
        if pin:
            attack["masked_lm"] = pin
    if attack:
        overlay["attack_resources"] = attack
    return overlay


def write_lock(overlay: dict[str, Any], configfiles: list[str], out: str | Path) -> None:
    files = " ".join(str(f) for f in configfiles)
    header = (
        f"# The inputs of {files}, pinned by `mvprepro lock` on {date.today().isoformat()}: the hub commit of\n"
        "# each hub source, the sha256 of each package archive, url download and local file or folder.\n"
        f"# Use it as the last config file: snakemake --configfile {files} {out}\n"
        "# A download whose input no longer matches stops with an error naming the source.\n"
    )
    text = header + (yaml.safe_dump(overlay, sort_keys=False) if overlay else "{}\n")
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _count(overlay: dict[str, Any]) -> int:
    """The number of pins (revisions and hashes) in an overlay."""
    return sum(_count(v) if isinstance(v, dict) else int(k in PINS) for k, v in overlay.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mvprepro lock", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="+", required=True, help="the config file(s), as given to snakemake")
    parser.add_argument("--directory", default=".", help="the workflow folder holding resources/ (default: here)")
    parser.add_argument("--out", required=True, help="the lock file to write (YAML)")
    args = parser.parse_args(argv)
    try:
        overlay = lock(load_config(args.configfile), args.directory)
    except LockError as err:
        print(f"mvprepro lock: {err}", file=sys.stderr)
        return 1
    write_lock(overlay, args.configfile, args.out)
    print(f"mvprepro lock: pinned {_count(overlay)} sources in {args.out}", file=sys.stderr)
    return 0
