"""Small writers for Markdown, LaTeX and HTML tables.

The HTML pages are self-contained (inline CSS, no scripts) because Snakemake's report embeds
each result file on its own and a reader may also open them straight from ``results/``.
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence

Cell = tuple[str, bool]  # (text, emphasised)

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; } h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f3f3f3; border-bottom: 2px solid #999; }
td.text, th.text { text-align: left; }
td.best { font-weight: bold; }
p.note { color: #555; font-size: 0.88em; max-width: 60em; }
del { background: #fdd; color: #a00; text-decoration: line-through; }
ins { background: #dfd; color: #060; text-decoration: none; font-weight: bold; }
.example { border: 1px solid #ddd; border-radius: 4px; padding: 0.5em 0.8em; margin: 0.6em 0; max-width: 60em; }
.meta { color: #555; font-size: 0.85em; }
.mark { font: 0.7em monospace; background: #333; color: #ff0; padding: 0 2px; border-radius: 2px; margin: 0 1px; }
.glyph { text-decoration: underline wavy #c0f; background: #f3e0ff; }
"""


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in rows:
        lines.append("| " + " | ".join(f"**{t}**" if strong and t else t for t, strong in cells) + " |")
    return "\n".join(lines) + "\n"


def html_table(header: Sequence[str], rows: Sequence[Sequence[Cell]], text_columns: int = 3) -> str:
    """An HTML table; the first ``text_columns`` columns are left-aligned labels."""

    def cls(i: int, strong: bool = False) -> str:
        names = (["text"] if i < text_columns else []) + (["best"] if strong else [])
        return f" class='{' '.join(names)}'" if names else ""

    head = "".join(f"<th{cls(i)}>{_html.escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i, strong)}>{_html.escape(t)}</td>" for i, (t, strong) in enumerate(cells)) + "</tr>"
        for cells in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{_html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{_html.escape(title)}</h1>{body}</body></html>\n"
    )
