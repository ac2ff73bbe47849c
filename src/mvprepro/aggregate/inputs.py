"""The inputs table: exactly what went into the results, and the code that produced them.

One row per materialised input (each dataset, backbone, adapted backbone and attack
resource): where it came from, what its source resolved to when it was downloaded (the hub
commit, the package archive's sha256, the local files' digest), the digest and size of what
was written, and whether the config pins it (``mvprepro lock``). An unpinned hub or package
source is marked: its next download may fetch something else.
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.formats import html_document, html_table, markdown_table
from ..download.pins import tree_sha256, tree_size
from ..fileio import write_text_atomic

COLUMNS = ["input", "kind", "source", "resolved", "pinned", "content_sha256", "bytes"]


def _kind(source: dict[str, Any]) -> str:
    for kind in ("hub", "package", "builder", "url", "textattack"):
        if kind in source:
            return kind
    return "path" if source.get("local") else "unknown"


def _describe(source: dict[str, Any]) -> str:
    kind = _kind(source)
    if kind == "hub":
        return source["hub"] + (f" ({source['name']})" if source.get("name") else "")
    if kind == "package":
        return f"{source['package']}: {source.get('member', '')}"
    if kind == "builder":
        return f"builder {source['builder']}"
    if kind in ("url", "textattack"):
        return str(source[kind])
    return "local files"


def _resolved(resolved: dict[str, Any] | None, kind: str) -> str:
    if kind == "builder":
        return "the code (its version below)"
    if not resolved:
        return ""
    if "revision" in resolved:
        return f"commit {resolved['revision']}"
    if "archive" in resolved:
        return f"{resolved['archive']} sha256 {resolved['sha256']}"
    if "sha256" in resolved:
        return f"sha256 {resolved['sha256']}"
    return ", ".join(f"{k} {v['archive']} sha256 {v['sha256']}" for k, v in resolved.items() if isinstance(v, dict))


def _pinned(source: dict[str, Any], kind: str) -> str:
    if kind == "builder":
        return "code"
    pins = [f"{k} {source[k]}" for k in ("revision", "sha256") if k in source]
    if kind == "hub" and not any(k == "revision" for k in source):
        return "no: the main branch at download time"
    return "; ".join(pins) if pins else "no"


def _row(
    name: str, source: dict[str, Any], resolved: dict[str, Any] | None, content: str | None, folder: Path, pins: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """One input's row. ``pins``: what the config pins now, per input name (the spec's; a
    lock added after the download changes it), else the pins the download was made with."""
    kind = _kind(source)
    if pins is not None:
        pinned = {**{k: v for k, v in source.items() if k not in ("revision", "sha256")}, **pins.get(name, {})}
    else:
        pinned = source
    return {
        "input": name,
        "kind": kind,
        "source": _describe(source),
        "resolved": _resolved(resolved, kind),
        "pinned": _pinned(pinned, kind),
        "content_sha256": content or tree_sha256(folder, skip=("source.json",)),
        "bytes": tree_size(folder),
    }


def _nltk_pinned(setting: Any) -> str:
    """Whether the config pins the NLTK data: each package archive's or the folder's sha256."""
    if setting == "builtin":
        return "code"
    if not isinstance(setting, dict):
        return "no"  # NLTK's downloader: whatever its index serves
    if "packages" in setting:
        pins = [f"{k} sha256 {v['sha256']}" for k, v in setting["packages"].items() if "sha256" in v]
        return "; ".join(pins) if len(pins) == len(setting["packages"]) else "no"
    return f"sha256 {setting['sha256']}" if "sha256" in setting else "no"


def input_rows(
    datasets: list[str], backbones: list[str], adapted: list[str], manifest: str | Path, nltk: Any = None, pins: dict[str, dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """The rows of the table, from the resources' records (``source.json``, the manifest);
    ``nltk`` is the config's ``attack_resources.nltk`` setting (the manifest keeps its kind
    only), ``pins`` what the config pins per input (None: the pins each download recorded)."""
    rows = []
    for folder in datasets:
        record = json.loads((Path(folder) / "source.json").read_text())
        rows.append(_row(f"datasets.{record['name']}", record["source"], record.get("resolved"), record.get("content_sha256"), Path(folder) / "data", pins))
    for folder in backbones:
        record = json.loads((Path(folder) / "source.json").read_text())
        rows.append(_row(f"backbones.{record['name']}", record["source"], record.get("resolved"), record.get("content_sha256"), Path(folder), pins))
    for folder in adapted:
        path = Path(folder)
        rows.append(
            {
                "input": f"backbones.{path.name} (adapted)",
                "kind": "adapt_backbone",
                "source": f"masked-LM adaptation of backbones.{path.name}",
                "resolved": "made by this workflow",
                "pinned": "its spec (settings and provenance)",
                "content_sha256": tree_sha256(path, skip=("adaptation.json",)),
                "bytes": tree_size(path),
            }
        )
    root = Path(manifest).parent
    record = json.loads(Path(manifest).read_text())
    for name, entry in record.get("embeddings", {}).items():
        rows.append(_row(f"attack_resources.embeddings.{name}", entry["source"], entry.get("resolved"), entry.get("content_sha256"), root / "embeddings" / name, pins))
    nltk_setting, nltk = nltk, record.get("nltk", {})
    rows.append(
        {
            "input": "attack_resources.nltk",
            "kind": nltk.get("source", ""),
            "source": ", ".join(f"{k}: {v}" for k, v in nltk.items() if k.endswith("_from") and v) or str(nltk.get("source", "")),
            "resolved": _resolved(nltk.get("resolved"), str(nltk.get("source"))),
            "pinned": _nltk_pinned(nltk_setting),
            "content_sha256": nltk.get("content_sha256", ""),
            "bytes": tree_size(root / "nltk_data") if (root / "nltk_data").exists() else 0,
        }
    )
    encoder = record.get("sentence_encoder", {})
    if encoder.get("kind", "none") != "none":
        rows.append(
            {
                "input": "attack_resources.sentence_encoder",
                "kind": "package" if "version" in encoder else "hub",
                "source": encoder["kind"] + (f" {encoder['version']}" if "version" in encoder else ""),
                "resolved": f"installed version {encoder['version']}" if "version" in encoder else "",
                "pinned": "the environment's package version" if "version" in encoder else "no",
                "content_sha256": encoder.get("content_sha256", ""),
                "bytes": tree_size(root / encoder["kind"]) if (root / encoder["kind"]).exists() else 0,
            }
        )
    if "masked_lm" in record:
        entry = record["masked_lm"]
        rows.append(_row("attack_resources.masked_lm", entry["source"], entry.get("resolved"), entry.get("content_sha256"), root / "masked_lm", pins))
    return rows


def _short(text: str) -> str:
    """Hashes shortened to 12 characters for reading (the CSV keeps them whole)."""
    words = []
    for word in str(text).split(" "):
        words.append(word[:12] + "…" if len(word) in (40, 64) and all(c in "0123456789abcdef" for c in word) else word)
    return " ".join(words)


def inputs(spec: dict[str, Any], datasets: list[str], backbones: list[str], adapted: list[str], manifest: str, csv: str, md: str, html: str) -> None:
    """Write the inputs table (csv with whole hashes, md and html for reading)."""
    rows = input_rows(datasets, backbones, adapted, manifest, spec.get("nltk"), spec.get("pins"))
    table = pd.DataFrame(rows, columns=COLUMNS)
    version = spec["code_version"]
    write_text_atomic(csv, table.to_csv(index=False))
    header = ["Input", "Kind", "Source", "Resolved to", "Pinned by the config", "Content sha256", "MB"]
    cells = [
        [(r["input"], False), (r["kind"], False), (r["source"], False), (_short(r["resolved"]), False), (_short(r["pinned"]), False),
         (_short(r["content_sha256"]), False), (f"{r['bytes'] / 1e6:.1f}", False)]
        for r in rows
    ]
    unpinned = [r["input"] for r in rows if r["pinned"].startswith("no")]
    note = (
        f"Not pinned (the next download may fetch something else; pin with `mvprepro lock`): {', '.join(unpinned)}."
        if unpinned
        else "Every downloaded input is pinned."
    )
    write_text_atomic(md, f"Code: {version}\n\n" + markdown_table(header, cells) + f"\n{note}\n")
    body = f"<p>Code: {_html.escape(version)}</p>" + html_table(header, cells, text_columns=6) + f"<p>{_html.escape(note)}</p>"
    write_text_atomic(html, html_document("Inputs", body))
