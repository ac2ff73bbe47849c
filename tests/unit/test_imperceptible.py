"""The imperceptible families: their candidates, word splitting, budgets, and how they are shown."""

from __future__ import annotations

import pytest

from mvprepro.attack.characters import HOMOGLYPHS, LOOKS_LIKE, visible
from mvprepro.attack.merge_attack import by_query_budget


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    from mvprepro import attack_resources as resources
    from mvprepro.download.download_attack_resources import fetch

    manifest = tmp_path_factory.mktemp("res") / "manifest.json"
    fetch({"embeddings": {}, "nltk": "builtin", "sentence_encoder": "none"}, manifest)
    resources.activate(manifest.parent)
    from mvprepro.attack import imperceptible

    imperceptible.keep_marks_in_words()
    imperceptible.resource_dir = manifest.parent  # for the recipes test below
    return imperceptible


def test_candidates_change_one_code_point_position_of_the_word(families):
    assert families.HomoglyphSwap()._get_replacement_words("cat") == ["\u0441at", "c\u0430t"]  # no confusable for t
    invisible = families.InvisibleInsertion()._get_replacement_words("good")
    assert len(invisible) == 3 * 3 and all("".join(ch for ch in w if ch not in "\u200b\u200c\u200d") == "good" for w in invisible)
    reorder = families.ReorderSwap()._get_replacement_words("abc")
    assert len(reorder) == 2
    # The encoded order is swapped (what a tokenizer that drops the controls reads) ...
    assert [ch for ch in reorder[0] if ch.isalpha()] == ["b", "a", "c"]
    assert len(families.ReorderSwap()._get_replacement_words("good")) == 2  # never o<->o
    deletion = families.DeletionInsertion("xy")._get_replacement_words("ab")
    assert len(deletion) == 3 * 2 and "x\bab" in deletion and "abx\b" in deletion


def test_a_perturbed_word_stays_one_word(families):
    from textattack.shared import AttackedText

    text = AttackedText("a good film")
    for swap in (families.InvisibleInsertion(), families.ReorderSwap(), families.DeletionInsertion("x"), families.HomoglyphSwap()):
        for new in swap._get_transformations(text, [1]):
            assert len(new.words) == 3 and new.words[0] == "a" and new.words[2] == "film", (type(swap).__name__, new.words)
            assert new.attack_attrs["modified_indices"] == {1}
            assert len(text.all_words_diff(new)) == 1
    # Text without any of the marks is split exactly as TextAttack splits it.
    assert AttackedText("it's a so-so film, isn't it?").words == ["it's", "a", "so-so", "film", "isn't", "it"]


def test_the_recipes_bound_the_words_perturbed(families):
    from mvprepro.attack import recipes
    from mvprepro.data.tasks import get_task

    resource_dir = families.resource_dir

    class Wrapper:
        model = None

        def __call__(self, texts):
            import numpy as np

            return np.array([[0.5, 0.5]] * len(texts))

    for family in ("homoglyph", "invisible", "reorder", "deletion"):
        spec = {"recipe": family, "budget": 2, "query_batch_size": 8, "query_budget": [10, 40]}
        attack, report = recipes.build("a", spec, Wrapper(), get_task("sst2"), resource_dir)
        notes = {r["constraint"]: r["detail"] for r in report}
        assert notes["max_words_perturbed"].startswith("at most 2 words")
        assert attack.goal_function.query_budget == 40 and notes["query_budget"].endswith("results at [10, 40]")


def test_visible_shows_every_inserted_code_point():
    shown = visible("go\u200bod b\u0430d \u202e\u2066x\u2069\u202c a\bz <b>")
    assert "ZWSP" in shown and "RLO" in shown and "LRI" in shown and "PDI" in shown and "PDF" in shown and ">BS<" in shown
    assert "looks like a" in shown and "CYRILLIC SMALL LETTER A" in shown
    assert "&lt;b&gt;" in shown  # ordinary text is escaped
    assert not any(ch in shown for ch in "\u200b\u202e\u2066\u2069\u202c\b")
    assert set(LOOKS_LIKE.values()) <= set(HOMOGLYPHS) and all(a != b for a, b in HOMOGLYPHS.items())


def _row(result: str, queries: int) -> dict:
    return {"result": result, "num_queries": queries}


def test_results_per_query_budget():
    rows = [_row("successful", 8), _row("successful", 30), _row("failed", 40), _row("skipped", 0), _row("successful", 12), _row("successful", 20)]
    out = by_query_budget(rows, [10, 20, 40])
    assert out["10"] == {"robust_accuracy": pytest.approx(100 * 4 / 6), "attack_success_rate": 20.0}  # 1 broken of 5 attacked
    # An example broken with exactly the budget's queries counts as broken at that budget.
    assert out["20"]["robust_accuracy"] == pytest.approx(100 * 2 / 6) and out["20"]["attack_success_rate"] == 60.0
    assert out["40"]["robust_accuracy"] == pytest.approx(100 * 1 / 6) and out["40"]["attack_success_rate"] == 80.0
