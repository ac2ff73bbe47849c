"""The documents stay navigable: the README stays a short user's guide, and every relative
link of every Markdown file of the repository leads somewhere (a file or folder that exists,
and for an anchor, a heading of the linked document under GitHub's slug rules)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
README_MAX_LINES = 250

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
# [text](target) and ![alt](target); the text may hold one level of brackets, the target
# one level of parentheses, and an optional "title".
INLINE_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*<?([^\s>]+)>?", re.M)
HTML_LINK = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']*)[\"']", re.I)
HTML_ANCHOR = re.compile(r"<[a-z][^>]*?\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
ATX_HEADING = re.compile(r"^[ ]{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[str]:
    """The repository's Markdown files: tracked, and new ones not ignored (not yet committed)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.md"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sorted({name for name in out.split("\0") if name and (REPO / name).is_file()})


def _blank(match: re.Match) -> str:
    """The matched text with every character but newlines replaced by a space (offsets kept)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def without_code(text: str) -> str:
    """The text with fenced code blocks and inline code spans blanked out, line numbers kept."""
    return CODE_SPAN.sub(_blank, without_code_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped, each space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a Markdown document offers: its headings' slugs (repeats numbered -1, -2, ...)
    and the ids and names of its HTML elements."""
    found, seen = set(), {}
    for line in without_code_fences(text).split("\n"):
        heading = ATX_HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found.update(HTML_ANCHOR.findall(text))
    return found


def without_code_fences(text: str) -> str:
    """The text with fenced code blocks blanked out (headings inside them are not headings)."""
    lines, fence = [], None
    for line in text.split("\n"):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)[0] * len(opening.group(1))
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link and image of a Markdown text, outside code."""
    plain = without_code(text)
    found = [(match.start(), match.group(1)) for pattern in (INLINE_LINK, REFERENCE_LINK, HTML_LINK) for match in pattern.finditer(plain)]
    return [(plain.count("\n", 0, start) + 1, target) for start, target in sorted(found)]


def broken_links(root: Path, names: list[str]) -> list[str]:
    """Every relative link of the named Markdown files (relative to root) that leads nowhere."""
    root = root.resolve()
    cache: dict[Path, set[str]] = {}
    broken = []
    for name in names:
        source = root / name
        for line, target in links(source.read_text(encoding="utf-8")):
            where = f"{name}:{line}: ({target})"
            if not target or SCHEME.match(target) or target.startswith("//"):
                continue  # http(s), mailto and other absolute URLs are not checked here
            path_part, _, fragment = target.partition("#")
            path_part = unquote(path_part.split("?")[0])
            if path_part:
                base = root if path_part.startswith("/") else source.parent
                dest = (base / path_part.lstrip("/")).resolve()
                if not dest.is_relative_to(root):
                    broken.append(f"{where} leaves the repository")
                    continue
                if not dest.exists():
                    broken.append(f"{where} {dest.relative_to(root)} does not exist")
                    continue
            else:
                dest = source
            if fragment and dest.is_file() and dest.suffix.lower() == ".md":
                if dest not in cache:
                    cache[dest] = anchors(dest.read_text(encoding="utf-8"))
                if unquote(fragment) not in cache[dest]:
                    broken.append(f"{where} {dest.relative_to(root)} has no heading #{fragment}")
    return broken


def test_readme_is_a_short_guide():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, at most {README_MAX_LINES}: move results and details to docs/ "
        "(docs/README.md lists them)"
    )


def test_every_relative_link_resolves():
    names = markdown_files()
    assert "README.md" in names
    broken = broken_links(REPO, names)
    assert not broken, f"{len(broken)} broken link(s):\n" + "\n".join(broken)


def test_broken_links_are_all_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "figures").mkdir()
    (tmp_path / "docs" / "figures" / "plot.png").write_bytes(b"")
    (tmp_path / "README.md").write_text(
        "# Guide\n\n## Pinning the inputs (`lock`)\n\n## Results, 2 CPU cores: 62% of fp32\n\n"
        "[ok](docs/a.md#set-up) [ok](#pinning-the-inputs-lock) [ok](#results-2-cpu-cores-62-of-fp32)\n"
        "[ok](docs/) [ok](https://example.org/missing) [ok](mailto:someone@example.org)\n"
        "`[not a link](missing.md)`\n\n```\n[not a link](missing.md)\n```\n"
        "[missing file](docs/missing.md) [missing\nanchor](docs/a.md#results) [missing own anchor](#nowhere)\n"
    )  # fmt: skip
    (tmp_path / "docs" / "a.md").write_text(
        "# A\n\n## Set-up\n\n![plot](figures/plot.png) <img src=\"figures/gone.png\">\n[up](../README.md#guide)\n"
    )  # fmt: skip
    broken = broken_links(tmp_path, ["README.md", "docs/a.md"])
    assert broken == [
        "README.md:14: (docs/missing.md) docs/missing.md does not exist",
        "README.md:14: (docs/a.md#results) docs/a.md has no heading #results",
        "README.md:15: (#nowhere) README.md has no heading #nowhere",
        "docs/a.md:5: (figures/gone.png) docs/figures/gone.png does not exist",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Whole runs: fp32 against bf16 on `config/real.yaml`", "whole-runs-fp32-against-bf16-on-configrealyaml"),
        ("On a processor with AMX: 62% of fp32, and the check passes", "on-a-processor-with-amx-62-of-fp32-and-the-check-passes"),
        ("Where bf16's gain stops on this processor", "where-bf16s-gain-stops-on-this-processor"),
        ("Adversarial training (`+adv`)", "adversarial-training-adv"),
        ("MVP -> MLP-FT", "mvp---mlp-ft"),
        ("epsilon_unit", "epsilon_unit"),
    ],
)
def test_slug_follows_github(heading, anchor):
    assert slug(heading) == anchor
