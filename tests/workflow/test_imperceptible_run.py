"""config/imperceptible.yaml on the demo backbone and data: the Bad Characters families,
DeepWordBug, and the query-budget dimension, end to end.

The config's methods and attacks run unchanged (8 examples, seed 0); its backbone, dataset
and attack resources are the demo's, so nothing is downloaded (the ``extensions_run``
fixture). The tiny RoBERTa's byte-level tokenizer reads every code point, so each family
can reach it.
"""

from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.workflow

FAMILIES = {
    "homoglyph": lambda ch: ch in LOOKS_LIKE,
    "invisible": lambda ch: ch in "\u200b\u200c\u200d",
    "reorder": lambda ch: ch in "\u202d\u202e\u202c\u2066\u2069",
    "deletion": lambda ch: ch == "\b",
}
LOOKS_LIKE: set[str] = set()


@pytest.fixture(scope="module")
def run(extensions_run):
    from mvprepro.attack.characters import LOOKS_LIKE as glyphs

    LOOKS_LIKE.update(glyphs)
    return extensions_run


def _text(columns: dict) -> str:
    return next(iter(columns.values()))  # SST-2 has one text column


def _records(repo, method: str, seed: int, attack: str) -> list[dict]:
    path = repo / f"results/runs/sst2/tiny-roberta/{method}/size-full/seed-{seed}/eval-sst2/attacks/{attack}.records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _summary(repo, method: str, seed: int, attack: str) -> dict:
    return json.loads((repo / f"results/runs/sst2/tiny-roberta/{method}/size-full/seed-{seed}/eval-sst2/attacks/{attack}.json").read_text())


def test_each_family_inserts_only_its_own_code_points_within_budget(run):
    for family, is_mine in FAMILIES.items():
        successes = [r for m in ("mlp_ft", "mvp") for r in _records(run, m, 0, family) if r["result"] == "successful"]
        assert successes, f"{family} never succeeded on the tiny backbone"
        for row in successes:
            before, after = _text(row["original_text"]), _text(row["perturbed_text"])
            added = [ch for ch in after if ch not in before or ch in LOOKS_LIKE]
            assert added and all(is_mine(ch) or ch.isalpha() for ch in added), (family, after)
            assert any(is_mine(ch) for ch in after), (family, after)
            # The text reads the same once the inserted code points are taken out (deletion
            # also inserts the letter the backspace erases; reorder swaps two letters).
            if family == "invisible":
                assert "".join(ch for ch in after if not is_mine(ch)) == before
            assert 1 <= row["words_perturbed"] <= 5  # the budget
        # Every shard ran the family's recipe and reported it.
        constraints = {c["constraint"]: c for c in _summary(run, "mlp_ft", 0, family)["constraints"]}
        assert "at most 5 words" in constraints["max_words_perturbed"]["detail"]


def test_query_budget_results_are_consistent_with_the_records(run):
    config = yaml.safe_load((run / "config" / "test.yaml").read_text())
    for attack in ("homoglyph", "deepwordbug"):
        budgets = sorted(config["attacks"][attack]["query_budget"])
        summary = _summary(run, "mlp_ft", 0, attack)
        rows = _records(run, "mlp_ft", 0, attack)
        by_budget = summary["by_query_budget"]
        assert sorted(map(int, by_budget)) == budgets
        # At the largest budget the search ran to: the summary's own robust accuracy.
        assert by_budget[str(budgets[-1])]["robust_accuracy"] == pytest.approx(summary["robust_accuracy"])
        assert all(r["num_queries"] <= budgets[-1] for r in rows)
        robust = [by_budget[str(b)]["robust_accuracy"] for b in budgets]
        assert robust == sorted(robust, reverse=True)  # more queries never make a model more robust
        smallest = budgets[0]
        broken = sum(r["result"] == "successful" and r["num_queries"] <= smallest for r in rows)
        attacked = sum(r["result"] != "skipped" for r in rows)
        assert by_budget[str(smallest)]["robust_accuracy"] == pytest.approx(100 * (attacked - broken) / len(rows))
    table = pd.read_csv(run / "results/tables/query_budget.csv")
    assert set(table["attack"]) == {a for a, entry in config["attacks"].items() if len(entry.get("query_budget", [])) > 1}
    assert set(FAMILIES) | {"deepwordbug"} <= set(table["attack"])
    assert set(table["method"]) == {"mlp_ft", "mvp", "start_bias"} and (table["seeds"] == 1).all()
    assert (run / "results/plots/query_budget.png").read_bytes()[:4] == b"\x89PNG"
    assert f"≤ {budgets[-1]} queries" in (run / "results/tables/query_budget.md").read_text()


def test_the_examples_page_shows_what_a_reader_could_not_see(run):
    page = (run / "results/examples/sst2.html").read_text()
    for family, is_mine in FAMILIES.items():
        rows = [r for r in _records(run, "mlp_ft", 0, family) if r["result"] == "successful"]
        for row in rows[:1]:
            after = _text(row["perturbed_text"])
            for ch in filter(is_mine, after):
                if family == "homoglyph":
                    assert f"U+{ord(ch):04X} {unicodedata.name(ch)}, looks like" in page
                else:
                    assert f"title='U+{ord(ch):04X}" in page
    # No raw invisible or bidirectional character reaches the page: each is shown as a mark.
    assert not any(ch in page for ch in "\u200b\u200c\u200d\u202d\u202e\u202c\u2066\u2069\b")


def test_deepwordbug_reports_like_the_other_attacks(run):
    summary = _summary(run, "mvp", 0, "deepwordbug")
    assert summary["num_examples"] == 8
    assert {c["constraint"] for c in summary["constraints"]} >= {"levenshtein_edit_distance", "query_budget"}
    main = pd.read_csv(run / "results/tables/main.csv")
    assert any(c.startswith("deepwordbug") for c in main.columns)
