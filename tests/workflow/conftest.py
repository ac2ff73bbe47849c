"""Finished runs the workflow tests share, each built once per session."""

from __future__ import annotations

import pytest
from helpers import checkout, snakemake


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    repo = checkout(tmp_path_factory.mktemp("demo") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/demo.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo


@pytest.fixture(scope="session")
def own_run(tmp_path_factory):
    """config/own_dataset.yaml: local files, inline tasks, a pair task and an evaluate_on target."""
    repo = checkout(tmp_path_factory.mktemp("own") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/own_dataset.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo
