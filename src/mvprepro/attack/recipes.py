"""Attack recipes as the paper's code built them, from TextAttack components.

``textfooler`` (paper): 50 nearest neighbours in the counter-fitted embedding; no word
changed twice; TextFooler's stopwords kept; at most ``max_words_perturbed`` of the words
changed (0.1 for SST-2 and BoolQ, 0.3 for AG News); embedding cosine >= 0.5; same part of
speech (verb/noun swaps allowed); sentence-encoder angular similarity >= 0.840845057 over a
window of 15 words, compared with the previous text; greedy word-importance ranking by
deletion.

``textbugger`` (paper): only the "Sub-W" bug, 5 nearest neighbours in the same embedding
(TextAttack's ``counterfitted_GLOVE_embedding``, the default of ``WordSwapEmbedding``);
NLTK stopwords kept; no word changed twice; the same sentence-encoder constraint; greedy
WIR by deletion. ``variant: stock`` adds TextBugger's character bugs (space insertion,
deletion, neighbour swap; the homoglyph bug is left out because its data file is missing
from textattack 0.3.11) and the stock sentence constraint (angular similarity >= 0.8 with
the original text, no window).

For two-column tasks the protected column (BoolQ's question) is never modified.

Each constraint whose resource is unavailable or replaced is listed in the returned report
with its status, so results computed without it are never mistaken for the paper's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textattack import Attack
from textattack.constraints.grammaticality import PartOfSpeech
from textattack.constraints.overlap import MaxWordsPerturbed
from textattack.constraints.pre_transformation import (
    InputColumnModification,
    RepeatModification,
    StopwordModification,
)
from textattack.constraints.semantics import WordEmbeddingDistance
from textattack.goal_functions import UntargetedClassification
from textattack.search_methods import GreedyWordSwapWIR
from textattack.transformations import (
    CompositeTransformation,
    WordSwapEmbedding,
    WordSwapNeighboringCharacterSwap,
    WordSwapRandomCharacterDeletion,
    WordSwapRandomCharacterInsertion,
)

from ..tasks import Task
from . import resources

RECIPES = ("textfooler", "textbugger")
USE_ANGULAR_THRESHOLD = 0.840845057  # 1 - 0.5 / pi: TextFooler's 0.5 angle, as TextAttack reads it


def _entry(constraint: str, status: str, detail: str) -> dict[str, str]:
    return {"constraint": constraint, "status": status, "detail": detail}


def _sentence_encoder(
    kind: str, resource_dir: Path, threshold: float, window: int | None, against_original: bool, report: list
):
    metric = "angular"
    kwargs = {
        "threshold": threshold,
        "metric": metric,
        "compare_against_original": against_original,
        "window_size": window,
        "skip_text_shorter_than_window": window is not None,
    }
    name = f"sentence_similarity({metric}>={threshold}, window={window})"
    if kind == "use":
        from textattack.constraints.semantics.sentence_encoders import UniversalSentenceEncoder

        report.append(_entry(name, "enabled", "Universal Sentence Encoder (TF Hub)"))
        return UniversalSentenceEncoder(**kwargs)
    if kind == "minilm":
        from .encoders import MiniLMEncoder

        report.append(_entry(name, "replaced", "all-MiniLM-L6-v2 stands in for the Universal Sentence Encoder"))
        return MiniLMEncoder(resource_dir / "minilm", **kwargs)
    report.append(_entry(name, "disabled", "attack_resources.sentence_encoder is none"))
    return None


def build(
    name: str,
    spec: dict[str, Any],
    model_wrapper: Any,
    task: Task,
    resource_dir: str | Path,
) -> tuple[Attack, list[dict[str, str]]]:
    """Build attack ``name`` from its config ``spec``; return it with its constraint report."""
    recipe = spec.get("recipe", name)
    if recipe not in RECIPES:
        raise ValueError(f"attacks.{name}.recipe {recipe!r} is unknown; known recipes: {list(RECIPES)}")
    resource_dir = Path(resource_dir)
    manifest = resources.manifest(resource_dir)
    embedding = resources.load_embedding(resource_dir, spec.get("embedding", "counterfitted"))
    encoder_kind = manifest["sentence_encoder"]["kind"]
    report: list[dict[str, str]] = []
    constraints: list[Any] = [RepeatModification()]
    report.append(_entry("repeat_modification", "enabled", "no word is changed twice"))

    if task.protected_columns:
        constraints.append(InputColumnModification(list(task.text_columns), set(task.protected_columns)))
        report.append(_entry("input_column_modification", "enabled", f"never modify {list(task.protected_columns)}"))

    variant = spec.get("variant", "paper")
    if recipe == "textfooler":
        transformation = WordSwapEmbedding(max_candidates=int(spec.get("max_candidates", 50)), embedding=embedding)
        constraints.append(StopwordModification(stopwords=resources.textfooler_stopwords()))
        report.append(_entry("stopwords", "enabled", "TextFooler's stopword list"))
        share = spec.get("max_words_perturbed", {})
        max_share = float(share.get(task.name, share.get("default", 0.1))) if isinstance(share, dict) else float(share)
        constraints.append(MaxWordsPerturbed(max_percent=max_share))
        report.append(_entry("max_words_perturbed", "enabled", f"at most {max_share:g} of the words"))
        min_cos = float(spec.get("min_cos_sim", 0.5))
        constraints.append(WordEmbeddingDistance(embedding=embedding, min_cos_sim=min_cos))
        report.append(_entry("word_embedding_distance", "enabled", f"cosine >= {min_cos:g}"))
        if spec.get("pos", True):
            if manifest["nltk"].get("pos_tagger"):
                constraints.append(PartOfSpeech(allow_verb_noun_swap=True))
                report.append(_entry("part_of_speech", "enabled", "NLTK tagger, universal tagset, verb/noun swaps allowed"))
            else:
                report.append(_entry("part_of_speech", "disabled", "no NLTK POS tagger in attack resources (attack_resources.nltk)"))
        else:
            report.append(_entry("part_of_speech", "disabled", f"attacks.{name}.pos is false"))
    else:  # textbugger
        swaps: list[Any] = [WordSwapEmbedding(max_candidates=int(spec.get("max_candidates", 5)), embedding=embedding)]
        if variant == "stock":
            swaps = [
                WordSwapRandomCharacterInsertion(random_one=True, letters_to_insert=" ", skip_first_char=True, skip_last_char=True),
                WordSwapRandomCharacterDeletion(random_one=True, skip_first_char=True, skip_last_char=True),
                WordSwapNeighboringCharacterSwap(random_one=True, skip_first_char=True, skip_last_char=True),
                *swaps,
            ]
            report.append(_entry("homoglyph_bug", "disabled", "WordSwapHomoglyphSwap is broken in textattack 0.3.11"))
        elif variant != "paper":
            raise ValueError(f"attacks.{name}.variant must be 'paper' or 'stock', not {variant!r}")
        transformation = CompositeTransformation(swaps)
        constraints.append(StopwordModification())
        stop_src = manifest["nltk"].get("stopwords", "nltk")
        if stop_src == "nltk":
            report.append(_entry("stopwords", "enabled", "NLTK English stopwords"))
        else:
            report.append(_entry("stopwords", "replaced", "TextFooler's stopword list stands in for NLTK's English list"))

    # The paper compares each step's text with the previous one over a 15-word window; the
    # stock TextBugger recipe compares whole texts with the original at 0.8.
    stock = recipe == "textbugger" and variant == "stock"
    threshold = float(spec.get("sentence_threshold", 0.8 if stock else USE_ANGULAR_THRESHOLD))
    window = None if stock else spec.get("sentence_window", 15)
    encoder = _sentence_encoder(encoder_kind, resource_dir, threshold, window, stock, report)
    if encoder is not None:
        constraints.append(encoder)

    goal = UntargetedClassification(model_wrapper, model_batch_size=int(spec.get("query_batch_size", 64)))
    search = GreedyWordSwapWIR(wir_method="delete")
    return Attack(goal, constraints, transformation, search), report
