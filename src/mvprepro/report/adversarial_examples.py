"""Successful adversarial examples of one dataset as an HTML page, changed words highlighted.

Numbers say how often an attack succeeds; examples show *how*: whether the substitutions
keep the meaning (a constraint doing its job) or turn the text into something a human would
label differently (a constraint too loose). For each backbone x method x attack the page
shows the first successful examples in test-split order, seeds in order, with the word-level
difference between original and perturbed text (removed words struck through in red, new
words in green) and the prediction before and after.
"""

from __future__ import annotations

import difflib
import html
from pathlib import Path
from typing import Any

from ..aggregate.formats import html_document
from ..attack.characters import visible
from ..aggregate.runs import attach_files
from ..data.tasks import get_task
from ..fileio import read_jsonl, write_text_atomic


def highlight(original: str, perturbed: str) -> str:
    """HTML of ``perturbed`` with word-level changes against ``original`` marked.

    Words are compared, not characters, because the attacks swap whole words (TextBugger's
    character bugs then show as one changed word); the result is joined by single spaces.
    Invisible and control characters and homoglyphs are made visible (:func:`visible`), or an
    imperceptible attack's change would look like no change at all.
    """
    a, b = original.split(), perturbed.split()
    pieces = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.extend(visible(w) for w in b[j1:j2])
            continue
        if i2 > i1:
            pieces.append(f"<del>{visible(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            pieces.append(f"<ins>{visible(' '.join(b[j1:j2]))}</ins>")
    return " ".join(pieces)


def _label(names: tuple[str, ...], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)


def render_example(row: dict[str, Any], seed: int, label_names: tuple[str, ...]) -> str:
    fields = []
    for column, original in row["original_text"].items():
        perturbed = (row.get("perturbed_text") or {}).get(column, original)
        fields.append(f"<div><span class='meta'>{html.escape(column)}:</span> {highlight(original, perturbed)}</div>")
    meta = (
        f"seed {seed}, test example {row['position']}: gold <b>{html.escape(_label(label_names, row['label']))}</b>, "
        f"predicted {html.escape(_label(label_names, row['original_output']))} &rarr; "
        f"<b>{html.escape(_label(label_names, row['perturbed_output']))}</b>; "
        f"{row['words_perturbed']} of {row['num_words']} words changed, {row['num_queries']} queries"
    )
    return f"<div class='example'><div class='meta'>{meta}</div>{''.join(fields)}</div>"


def adversarial_examples(spec: dict[str, Any], records: list[str], out: str | Path) -> None:
    """``spec``: dataset, task, methods, attacks, per_method and runs; ``records``: one
    attack records file per run and attack, in that order."""
    label_names = get_task(spec["task"]).label_names
    runs = attach_files(spec["runs"], spec["attacks"], "records", records, per_attack=True)
    k = int(spec["per_method"])
    intro = (
        "<p class='note'>Successful attacks only: removed words <del>struck through</del>, "
        f"inserted words <ins>highlighted</ins>. Up to {k} examples per method and attack, the "
        "first in test-split order (seeds in order). Characters a reader could not see are shown: "
        "<span class='mark'>ZWSP</span> and the like for invisible, bidirectional and control characters "
        "(their effect is not applied, so a reordering shows its encoded order), and an "
        "<span class='glyph'>underlined</span> letter for a homoglyph (its code point in the tooltip).</p>"
    )
    body = [intro]
    sizes = list(dict.fromkeys(r.get("size") for r in runs))  # [None] without train_sizes
    for backbone in sorted({r["backbone"] for r in runs}, key=[r["backbone"] for r in runs].index):
        for method, size in ((m, z) for m in spec["methods"] for z in sizes):
            mine = sorted(
                (r for r in runs if r["backbone"] == backbone and r["method"] == method and r.get("size") == size),
                key=lambda r: r["seed"],
            )
            if not mine:
                continue
            where = backbone if size is None else f"{backbone}, training-set size {size}"
            body.append(f"<h2>{html.escape(method)} ({html.escape(where)})</h2>")
            for attack in spec["attacks"]:
                shown, successes, attacked = [], 0, 0
                for run in mine:
                    rows = read_jsonl(run["records"][attack])
                    attacked += sum(r["result"] != "skipped" for r in rows)
                    for row in rows:
                        if row["result"] == "successful":
                            successes += 1
                            if len(shown) < k:
                                shown.append(render_example(row, run["seed"], label_names))
                body.append(
                    f"<h3>{html.escape(attack)}: {successes} successful of {attacked} attacked examples "
                    f"over {len(mine)} seed(s)</h3>"
                )
                body.extend(shown or ["<p class='note'>No successful attack: every attacked example held.</p>"])
    write_text_atomic(out, html_document(f"Adversarial examples: {spec['dataset']}", "".join(body)))
