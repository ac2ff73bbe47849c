"""The hub code path of config.yaml, executed: its sources downloaded from a stand-in hub
(tests/hub_server.py, on the loopback address) laid out as the real repositories, then
prepared and tokenized; the revisions pinned by a lock, a moved branch ignored, and a
locked commit that is gone refused."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from helpers import checkout
from hub_server import Hub

pytestmark = pytest.mark.workflow

DATASETS = ("sst2", "ag_news", "boolq")
TOKENIZED = [f"results/tokenized/{d}/roberta-base" for d in DATASETS]


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _card(configs: list[tuple[str, dict[str, str]]]) -> bytes:
    """A dataset card whose YAML header maps config names to data files, as the real ones do."""
    lines = ["---", "configs:"]
    for name, splits in configs:
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {path}" for split, path in splits.items()]
    return ("\n".join(lines) + "\n---\n").encode()


def _sentences(n: int, offset: int) -> list[str]:
    words = ("good", "bad", "fine", "dull", "great", "awful")
    return [f"the film was {words[(i + offset) % len(words)]} and the cast was {words[(i * 7 + offset) % len(words)]} ." for i in range(n)]


def _glue(offset: int = 0) -> dict[str, bytes]:
    """nyu-mll/glue, config sst2: sentence, label, idx; the test split's labels are -1."""

    def split(n: int, start: int, labelled: bool = True) -> bytes:
        return _parquet(pd.DataFrame({"sentence": _sentences(n, start + offset), "label": [i % 2 if labelled else -1 for i in range(n)], "idx": range(n)}))

    files = {f"sst2/{s}-00000-of-00001.parquet": split(n, start, s != "test") for s, n, start in (("train", 200, 0), ("validation", 40, 1000), ("test", 20, 2000))}
    card = _card([("sst2", {s: f"sst2/{s}-*" for s in ("train", "validation", "test")})])
    return {"README.md": card, **files}


def _ag_news() -> dict[str, bytes]:
    """fancyzhx/ag_news: text, label (4 topics), data/train and data/test."""

    def split(n: int, start: int) -> bytes:
        return _parquet(pd.DataFrame({"text": _sentences(n, start), "label": [i % 4 for i in range(n)]}))

    card = _card([("default", {"train": "data/train-*", "test": "data/test-*"})])
    return {"README.md": card, "data/train-00000-of-00001.parquet": split(200, 0), "data/test-00000-of-00001.parquet": split(40, 500)}


def _boolq() -> dict[str, bytes]:
    """google/boolq: question, answer (a boolean), passage; data/train and data/validation."""

    def split(n: int, start: int) -> bytes:
        return _parquet(
            pd.DataFrame({"question": [f"is the film {w}" for w in _sentences(n, start)], "answer": [i % 2 == 0 for i in range(n)], "passage": _sentences(n, start + 3)})
        )

    card = _card([("default", {"train": "data/train-*", "validation": "data/validation-*"})])
    return {"README.md": card, "data/train-00000-of-00001.parquet": split(100, 0), "data/validation-00000-of-00001.parquet": split(40, 700)}


def _run(repo, hub: Hub, *args: str) -> subprocess.CompletedProcess:
    """Snakemake with the hub's endpoint and the network allowed (the download rules only
    reach the loopback server), the Hugging Face caches inside the test folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(repo / ".hf"), HF_HUB_DISABLE_TELEMETRY="1")
    exe = os.path.join(os.path.dirname(sys.executable), "snakemake")
    return subprocess.run([exe, "--cores", "2", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=1800)


def _source(repo, section: str, name: str) -> dict:
    return json.loads((repo / "resources" / section / name / "source.json").read_text())


def test_config_yaml_sources_download_from_the_hub_at_a_pinned_commit(tiny_backbone, tmp_path):
    hub = Hub()
    glue_first = hub.commit("dataset", "nyu-mll/glue", _glue())
    hub.commit("dataset", "fancyzhx/ag_news", _ag_news())
    hub.commit("dataset", "google/boolq", _boolq())
    model = {p.name: p.read_bytes() for p in tiny_backbone.iterdir() if p.is_file() and p.name != "source.json"}
    roberta = hub.commit("model", "FacebookAI/roberta-base", model)
    repo = checkout(tmp_path / "repo")
    with hub:
        # config.yaml as shipped: the hub sources, preset columns, split names and protocols.
        result = _run(repo, hub, *TOKENIZED)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        assert _source(repo, "datasets", "sst2")["resolved"] == {"revision": glue_first}
        assert _source(repo, "backbones", "roberta-base")["resolved"] == {"revision": roberta}
        sizes = {d: json.loads((repo / "results" / "data" / d / "stats.json").read_text())["sizes"] for d in DATASETS}
        assert sizes["sst2"]["test"] == 40  # GLUE's validation split is the paper's test split
        assert sizes["ag_news"]["test"] == 40 and sizes["boolq"]["test"] == 20  # BoolQ's validation, halved
        assert all(sum(s.values()) > 0 for s in sizes.values())
        assert any(f"/api/datasets/nyu-mll/glue/revision/{glue_first}" in r or "/api/datasets/nyu-mll/glue/revision/main" in r for r in hub.requests)

        # Lock, then move the branch: the locked config still gets the first commit.
        lock = [sys.executable, "-m", "mvprepro", "lock", "--configfile", "config.yaml", "--out", "config.lock.yaml"]
        done = subprocess.run(lock, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo / "src")}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        overlay = yaml.safe_load((repo / "config.lock.yaml").read_text())
        assert overlay["datasets"]["sst2"] == {"source": {"revision": glue_first}}
        assert overlay["backbones"]["roberta-base"] == {"source": {"revision": roberta}}
        first_content = _source(repo, "datasets", "sst2")["content_sha256"]
        # Added to the finished run, the lock plans nothing: it pins exactly what was downloaded.
        dry = _run(repo, hub, *TOKENIZED, "-n", "--configfile", "config.yaml", "config.lock.yaml")
        assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]
        glue_moved = hub.commit("dataset", "nyu-mll/glue", _glue(offset=1))
        assert glue_moved != glue_first
        result = _run(repo, hub, "resources/datasets/sst2", "--configfile", "config.yaml", "config.lock.yaml")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        record = _source(repo, "datasets", "sst2")
        assert record["resolved"] == {"revision": glue_first} and record["content_sha256"] == first_content
        # Unlocked, the same source follows the branch.
        result = _run(repo, hub, "resources/datasets/sst2", "--forcerun", "download_dataset")
        assert result.returncode == 0, result.stderr[-5000:]
        assert _source(repo, "datasets", "sst2")["resolved"] == {"revision": glue_moved}

        # The locked commit disappears (history rewritten): the download stops, naming the source.
        del hub.repos[("dataset", "nyu-mll/glue")].commits[glue_first]
        result = _run(repo, hub, "resources/datasets/sst2", "--configfile", "config.yaml", "config.lock.yaml")
        assert result.returncode != 0
        log = (repo / "logs" / "download_dataset" / "sst2.log").read_text()
        assert f"datasets.sst2.source: the hub cannot resolve revision '{glue_first}'" in log, log[-3000:]
        assert not (repo / "resources" / "datasets" / "sst2").exists()
