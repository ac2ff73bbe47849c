"""Attack resources as attack jobs (and the download job that writes them) read them: the folder ``download_attack_resources`` wrote
(:mod:`mvprepro.download.download_attack_resources`) with its ``manifest.json``.

:func:`activate` points TextAttack, NLTK and the model caches at that folder before
``textattack`` is first imported (or the import tries to download NLTK data);
:func:`load_embedding` reads a stored embedding without any pickle; :func:`manifest` tells
the recipes what was fetched, so each constraint is reported as enabled, replaced or
disabled.

It sits below both :mod:`mvprepro.download` and :mod:`mvprepro.attack`, which share it,
so neither stage's code digest holds the other stage.
"""

from __future__ import annotations

import os
from importlib import resources as ilr
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import read_json

MANIFEST = "manifest.json"


class AttackResourceError(RuntimeError):
    """A resource an attack needs is missing; the message names the config key to fix."""


def textfooler_stopwords() -> set[str]:
    text = ilr.files(__package__).joinpath("textfooler_stopwords.txt").read_text()
    return set(text.split())


def activate(resource_dir: str | Path) -> None:
    """Point TextAttack, NLTK, TF Hub and HF caches at the resources folder (before import)."""
    root = Path(resource_dir).resolve()
    cache = root / "textattack_cache"
    cache.mkdir(parents=True, exist_ok=True)
    # TextAttack runs NLTK downloads on first import unless this marker exists.
    (cache / "post_install_check_3").touch()
    os.environ["TA_CACHE_DIR"] = str(cache)
    os.environ["NLTK_DATA"] = str(root / "nltk_data")
    os.environ["TFHUB_CACHE_DIR"] = str(root / "tfhub")
    # TA_CACHE_DIR also moves HF_HOME; keep the HF caches consistent and offline.
    os.environ.setdefault("HF_HOME", str(cache))
    try:  # nltk may already be imported: make the new path visible to it too
        import nltk
        import nltk.corpus
        from nltk.corpus import reader
        from nltk.corpus.util import LazyCorpusLoader

        if str(root / "nltk_data") in nltk.data.path:
            nltk.data.path.remove(str(root / "nltk_data"))
        nltk.data.path.insert(0, str(root / "nltk_data"))
        # A corpus loaded from an earlier resources folder stays bound to it: reload lazily.
        stopwords_reader = getattr(reader, "StopwordsCorpusReader", reader.WordListCorpusReader)
        nltk.corpus.stopwords = LazyCorpusLoader("stopwords", stopwords_reader, r"(?!README|\.).*", encoding="utf8")
    except ImportError:  # pragma: no cover
        pass


# ---------------------------------------------------------------- embeddings


def load_embedding(resource_dir: str | Path, name: str):
    """A TextAttack ``WordEmbedding`` from the stored arrays (no pickle involved)."""
    from textattack.shared import WordEmbedding

    folder = Path(resource_dir) / "embeddings" / name
    if not (folder / "vectors.npy").exists():
        raise AttackResourceError(
            f"word embedding {name!r} is not in {folder}; add it to attack_resources.embeddings "
            "and run the download_attack_resources rule"
        )
    words = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    nn = np.load(folder / "nn.npy", allow_pickle=False)
    return WordEmbedding(vectors, {w: i for i, w in enumerate(words)}, dict(enumerate(words)), nn)


# ---------------------------------------------------------------- nltk, encoders


def manifest(resource_dir: str | Path) -> dict[str, Any]:
    path = Path(resource_dir) / MANIFEST
    if not path.exists():
        raise AttackResourceError(f"{path} is missing; run the download_attack_resources rule first")
    return read_json(path)
