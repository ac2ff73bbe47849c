"""The code points of the imperceptible attacks, and how a page shows them.

Shared by the attack (:mod:`mvprepro.attack.imperceptible`) and the examples page
(:mod:`mvprepro.report.adversarial_examples`); it imports nothing but the standard library, so the
report environment needs no TextAttack.
"""

from __future__ import annotations

import html
import unicodedata

# Latin letter -> a confusable of another script (Unicode's intentional.txt; one each).
HOMOGLYPHS = {
    "a": "\u0430", "c": "\u0441", "d": "\u0501", "e": "\u0435", "h": "\u04bb", "i": "\u0456",
    "j": "\u0458", "o": "\u043e", "p": "\u0440", "q": "\u051b", "s": "\u0455", "w": "\u051d",
    "x": "\u0445", "y": "\u0443",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "I": "\u0406",
    "J": "\u0408", "K": "\u041a", "M": "\u041c", "N": "\u039d", "O": "\u041e", "P": "\u0420",
    "S": "\u0405", "T": "\u0422", "X": "\u0425", "Y": "\u04ae", "Z": "\u0396",
}  # fmt: skip
LOOKS_LIKE = {v: k for k, v in HOMOGLYPHS.items()}

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d")  # space, non-joiner, joiner
LRO, RLO, PDF, LRI, PDI = "\u202d", "\u202e", "\u202c", "\u2066", "\u2069"
BIDI = ("\u202a", "\u202b", PDF, LRO, RLO, LRI, "\u2067", "\u2068", PDI)
BACKSPACE = "\u0008"
# Code points the families insert: they must stay inside their word when TextAttack splits text.
MARKS = (*ZERO_WIDTH, *BIDI, BACKSPACE)
SHORT_NAMES = {
    "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u202a": "LRE", "\u202b": "RLE", PDF: "PDF",
    LRO: "LRO", RLO: "RLO", LRI: "LRI", "\u2067": "RLI", "\u2068": "FSI", PDI: "PDI", BACKSPACE: "BS",
}  # fmt: skip


# ---------------------------------------------------------------- showing them


def visible(text: str) -> str:
    """HTML of ``text`` in which every inserted code point can be seen: format and control
    characters as a marked abbreviation (``ZWSP``, ``RLO``, ``BS``), a homoglyph underlined
    with its code point and the Latin letter it imitates in its tooltip. Bidirectional
    controls are shown, not applied, so a reordering shows its encoded order."""
    out = []
    for ch in text:
        if ch in SHORT_NAMES or unicodedata.category(ch) in ("Cf", "Cc") and ch not in "\t\n\r":
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            short = SHORT_NAMES.get(ch, f"U+{ord(ch):04X}")
            out.append(f"<span class='mark' title='U+{ord(ch):04X} {html.escape(name)}'>{short}</span>")
        elif ch in LOOKS_LIKE:
            name = unicodedata.name(ch, "")
            out.append(f"<span class='glyph' title='U+{ord(ch):04X} {html.escape(name)}, looks like {LOOKS_LIKE[ch]}'>{html.escape(ch)}</span>")
        else:
            out.append(html.escape(ch))
    return "".join(out)
