"""An attack of your own, as a config entry: ``recipe: examples.own_attack.keyboard_typos:build``.

Keyboard typos: a letter replaced by a neighbour on a QWERTY keyboard (TextAttack's
``WordSwapQWERTY``), at most ``max_words`` words (``attacks.<name>.options.max_words``),
words ranked by deletion and searched greedily.

A builder receives the model wrapper and ``parts`` (``mvprepro.attack.recipes.AttackParts``):
the attack's config entry (``parts.spec``), the constraints every recipe starts from
(``parts.constraints``: no word changed twice, protected columns never changed), the
configured resources (``parts.nltk_stopwords()``, ``parts.embedding()``, ...), and
``parts.note(...)`` to report a constraint in the attack's summary. It returns a
``textattack.Attack`` whose goal function wraps the model wrapper it was given.
"""

from __future__ import annotations

from textattack import Attack
from textattack.constraints.overlap import MaxWordsPerturbed
from textattack.constraints.pre_transformation import MinWordLength
from textattack.goal_functions import UntargetedClassification
from textattack.search_methods import GreedyWordSwapWIR
from textattack.transformations import WordSwapQWERTY


def build(model_wrapper, parts, max_words: int = 2) -> Attack:
    parts.nltk_stopwords()  # stopwords are never changed (reported as the built-in recipes do)
    parts.constraints.append(MinWordLength(min_length=4))
    parts.note("min_word_length", "enabled", "words of at least 4 characters")
    parts.constraints.append(MaxWordsPerturbed(max_num_words=int(max_words)))
    parts.note("max_words_perturbed", "enabled", f"at most {max_words} words")
    transformation = WordSwapQWERTY(random_one=False, skip_first_char=True, skip_last_char=True)
    goal = UntargetedClassification(model_wrapper, model_batch_size=int(parts.spec["query_batch_size"]))
    return Attack(goal, parts.constraints, transformation, GreedyWordSwapWIR(wir_method="delete"))
