"""Open the Snakemake HTML report in headless Chromium, show every result, take screenshots.

A report can be built and still show nothing useful (a missing caption, a table that does not
render, an empty example page); this looks at it the way a reader does. For each result
category it clicks each entry's view button, waits for the page to render, saves a
screenshot and collects the text a reader sees (the HTML tables and example pages are read
inside their frames).

    python scripts/report_screenshots.py results/report.html --out results/report-screenshots

Needs the `browser` extra (pip install -e ".[browser]") and a Chromium binary
(Debian: apt-get install chromium; or pass --chromium PATH).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

FLAGS = [
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # A closed network refuses these background connections; they only slow the start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def capture(report: str | Path, out_dir: str | Path, chromium: str) -> dict[str, str]:
    """Screenshot every result of the report; return {"category / entry": visible text}."""
    from playwright.sync_api import sync_playwright

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(Path(report).resolve().as_uri())
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "00-overview.png"))
        seen["overview"] = page.inner_text("body")
        categories = [c.strip() for c in page.locator("text=/^\\d+\\. /").all_inner_texts()]
        for category in categories:
            page.get_by_text(category, exact=True).click()
            page.wait_for_timeout(500)
            rows = page.locator("tr:has(a[iconname='eye'])")
            for i in range(rows.count()):
                row = rows.nth(i)
                entry = row.locator("td").first.inner_text().strip()
                row.locator("a[iconname='eye']").click()
                page.wait_for_timeout(1200)
                name = f"{_slug(category)}--{_slug(entry)}"
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                texts = [page.inner_text("body")]
                texts += [frame.locator("body").inner_text() for frame in page.frames[1:] if frame.url]
                images = page.locator("img[src^='data:image/png']").count()
                seen[f"{category} / {entry}"] = "\n".join(texts) + f"\n[png images: {images}]"
                page.go_back()
                page.wait_for_timeout(300)
                if not page.locator("tr:has(a[iconname='eye'])").count():
                    page.get_by_text(category, exact=True).click()
                    page.wait_for_timeout(300)
            page.goto(Path(report).resolve().as_uri())
            page.wait_for_timeout(800)
        browser.close()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("--out", default="results/report-screenshots")
    parser.add_argument("--chromium", default=None)
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("no Chromium found: install it (Debian: apt-get install chromium) or pass --chromium", file=sys.stderr)
        return 2
    seen = capture(args.report, args.out, chromium)
    (Path(args.out) / "seen.json").write_text(json.dumps(seen, indent=2))
    for key, text in seen.items():
        print(f"{key}: {len(text)} characters visible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
