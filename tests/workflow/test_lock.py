"""A config locked to what its downloads resolved to: added to a finished run it reruns
nothing but the inputs table, which shows the pins, and a local file changed after locking
stops its download with an error naming the source."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from helpers import copy_run, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def test_a_locked_config_downloads_exactly_its_inputs_and_refuses_changed_ones(own_run, tmp_path):
    repo = copy_run(own_run, tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    lock = [sys.executable, "-m", "mvprepro", "lock", "--configfile", "config/own_dataset.yaml", "--out", "config/own_dataset.lock.yaml"]
    done = subprocess.run(lock, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    overlay = yaml.safe_load((repo / "config" / "own_dataset.lock.yaml").read_text())
    # The three local datasets are pinned by their files' digest; the builder backbone and
    # the demo embedding are code, pinned by the code's version.
    assert set(overlay) == {"datasets"} and set(overlay["datasets"]) == {"reviews", "stars", "claims"}
    assert all(len(entry["source"]["sha256"]) == 64 for entry in overlay["datasets"].values())

    locked = ["--configfile", "config/own_dataset.yaml", "config/own_dataset.lock.yaml"]
    # Added to the finished run, the lock pins exactly what it downloaded: nothing is fetched,
    # trained or attacked again; only the inputs table, which reports the pins, is made anew.
    assert planned_jobs(repo, *locked[1:]) == {("inputs", ""), ("all", "")}
    result = snakemake(repo, "--cores", "2", "results/tables/inputs.csv", *locked)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    table = pd.read_csv(repo / "results" / "tables" / "inputs.csv").set_index("input")
    assert table.loc["datasets.reviews", "pinned"] == f"sha256 {overlay['datasets']['reviews']['source']['sha256']}"
    assert table.loc["datasets.reviews", "resolved"] == table.loc["datasets.reviews", "pinned"]
    assert table.loc["backbones.tiny-roberta", "pinned"] == "code"
    assert (table.bytes > 0).all()
    assert "Every downloaded input is pinned." in (repo / "results" / "tables" / "inputs.md").read_text()

    # One changed row in a locked local file: its download stops, naming the source and the key.
    test_file = repo / "examples" / "own_dataset" / "data" / "stars" / "test.jsonl"
    test_file.write_text(test_file.read_text().replace('"stars": 5', '"stars": 4', 1))
    result = snakemake(repo, "--cores", "1", "results/tables/inputs.csv", *locked)
    assert result.returncode != 0
    log = (repo / "logs" / "download_dataset" / "stars.log").read_text()
    assert "datasets.stars.source: the files at" in log and "datasets.stars.source.sha256" in log, log[-2000:]
    assert not (repo / "resources" / "datasets" / "stars").exists()  # nothing half-written left
