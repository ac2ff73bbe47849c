"""Imperceptible perturbations (Boucher et al., "Bad Characters", IEEE S&P 2022) as TextAttack word swaps.

Each family changes one character position per word and renders (in a browser that follows
the Unicode rules) exactly as the original text, while the model reads other code points:

- ``homoglyph``: one Latin letter replaced by a letter of another script that Unicode lists
  as an intentional confusable (Cyrillic ``а`` for Latin ``a``). Candidates: one per letter
  of the word that has a confusable.
- ``invisible``: a zero-width character (ZERO WIDTH SPACE, NON-JOINER or JOINER) inserted
  between two letters. Candidates: three per gap.
- ``reorder``: two neighbouring letters swapped in the encoded text and wrapped in
  bidirectional override and isolate controls, so they display in the original order
  (the paper's swap encoding). Candidates: one per pair of neighbours.
- ``deletion``: a letter inserted and followed by BACKSPACE (U+0008), which a renderer that
  honours it erases. Candidates: one per position and inserted letter.

Why our own transformations: TextAttack 0.3.11's ``WordSwapHomoglyphSwap`` cannot be built
(it reads a data file the release does not ship), and its other three insert characters
TextAttack's word splitter does not count as part of a word, so one perturbed word becomes
two and the greedy search's word indices drift. :func:`keep_marks_in_words` makes the
splitter keep these code points inside their word; the attack job installs it before it
builds one of these recipes, so the search and ``words_perturbed`` count words as they were.

What a tokenizer does with these code points decides what the attack can do: BERT-style
tokenizers (WordPiece; MiniLM) delete format (Cf) and control (Cc) characters before
splitting, so ``invisible`` changes nothing the model reads there, and ``reorder`` and
``deletion`` reach it only as swapped or inserted letters; byte-level BPE (RoBERTa, GPT-2)
reads every code point.
"""

from __future__ import annotations

import re

from textattack.transformations import WordSwap

from ..names import IMPERCEPTIBLE_RECIPES
from .characters import BACKSPACE, LRI, LRO, MARKS, PDF, PDI, RLO, ZERO_WIDTH, HOMOGLYPHS

DEFAULT_DELETION_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class HomoglyphSwap(WordSwap):
    """One letter of the word replaced by its confusable (one candidate per such letter)."""

    def _get_replacement_words(self, word: str) -> list[str]:
        return [word[:i] + HOMOGLYPHS[ch] + word[i + 1 :] for i, ch in enumerate(word) if ch in HOMOGLYPHS]


class InvisibleInsertion(WordSwap):
    """A zero-width character between two letters of the word (never at its edges)."""

    def _get_replacement_words(self, word: str) -> list[str]:
        return [word[:i] + mark + word[i:] for i in range(1, len(word)) for mark in ZERO_WIDTH]


def encode_swap(first: str, second: str) -> str:
    """``second`` then ``first`` in the encoded text, displayed as ``first second``: the
    paper's encoding of one swap with override (LRO, RLO) and isolate (LRI, PDI) controls."""
    return LRO + LRI + RLO + LRI + second + PDI + LRI + first + PDI + PDF + PDI + PDF


class ReorderSwap(WordSwap):
    """Two neighbouring letters swapped in the encoding, displayed in their original order
    (never two equal letters: that swap would change only the control characters)."""

    def _get_replacement_words(self, word: str) -> list[str]:
        return [word[:i] + encode_swap(word[i], word[i + 1]) + word[i + 2 :] for i in range(len(word) - 1) if word[i] != word[i + 1]]


class DeletionInsertion(WordSwap):
    """A letter followed by BACKSPACE, inserted at any position of the word."""

    def __init__(self, letters: str = DEFAULT_DELETION_LETTERS) -> None:
        super().__init__()
        self.letters = letters

    def _get_replacement_words(self, word: str) -> list[str]:
        return [word[:i] + ch + BACKSPACE + word[i:] for i in range(len(word) + 1) for ch in self.letters]

    def extra_repr_keys(self) -> list[str]:
        return ["letters"]


def transformation(family: str, letters: str | None = None) -> WordSwap:
    if family == "homoglyph":
        return HomoglyphSwap()
    if family == "invisible":
        return InvisibleInsertion()
    if family == "reorder":
        return ReorderSwap()
    if family == "deletion":
        return DeletionInsertion(letters or DEFAULT_DELETION_LETTERS)
    raise ValueError(f"unknown imperceptible family {family!r}; known: {list(IMPERCEPTIBLE_RECIPES)}")


# ---------------------------------------------------------------- word splitting

_MARK_CLASS = "".join(MARKS)


def keep_marks_in_words() -> None:
    """Make TextAttack's word splitter keep :data:`MARKS` inside the word they are in.

    TextAttack splits words with ``[\\w<exceptions>]+``; a zero-width or control character is
    not ``\\w``, so ``go<ZWSP>od`` would become two words. Texts without any of these code
    points are split by TextAttack's own function, unchanged; the others by the same pattern
    with the marks added. Idempotent.
    """
    from textattack.shared import attacked_text
    from textattack.shared.utils import strings

    original = strings.words_from_text
    if getattr(attacked_text.words_from_text, "keeps_marks", False):
        return

    def words_from_text(s: str, words_to_ignore: list[str] = []) -> list[str]:  # noqa: B006 - TextAttack's signature
        if not any(m in s for m in MARKS):
            return original(s, words_to_ignore)
        s = " ".join(s.split())
        homos = "˗৭Ȣ𝟕бƼᏎƷᒿlO`ɑЬϲԁе𝚏ɡհіϳ𝒌ⅼｍոорԛⲅѕ𝚝սѵԝ×уᴢ"  # TextAttack's own additions
        pattern = f"[\\w{re.escape(homos)}{_MARK_CLASS}'\\-_\\*@]+"
        exceptions = "'-_*@"
        words = []
        for word in s.split():
            word = word.strip(exceptions)
            words.extend(w.strip(exceptions) for w in re.findall(pattern, word))
        return [w for w in words if w not in words_to_ignore + [""]]

    words_from_text.keeps_marks = True  # type: ignore[attr-defined]
    attacked_text.words_from_text = words_from_text
