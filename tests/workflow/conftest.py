"""Finished runs the workflow tests share, each built once per session."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from helpers import REPO, SMALL, checkout, module_project, small_demo_config, snakemake


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    repo = checkout(tmp_path_factory.mktemp("demo") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/demo.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A finished run of the demo's shape at its smallest (config/small.yaml), made the way
    a user deploys the workflow into a project of their own: as a Snakemake module from a
    clone (tests/workflow/test_module.py). For tests that need a finished run but not the
    whole demo (interruptions, reruns). Returns the project folder."""
    root = tmp_path_factory.mktemp("small")
    workflow = checkout(root / "mvp-repro")
    # A clone of its own, as a user's copy of the workflow is: the inputs table names its commit.
    git = ["git", "-C", str(workflow), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the workflow"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    project = module_project(root / "project", workflow, SMALL, small_demo_config())
    result = snakemake(project, "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return project


@pytest.fixture(scope="session")
def own_run(tmp_path_factory):
    """config/own_dataset.yaml: local files, inline tasks, a pair task and an evaluate_on target."""
    repo = checkout(tmp_path_factory.mktemp("own") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/own_dataset.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo


@pytest.fixture(scope="session")
def extensions_run(tmp_path_factory):
    """Beyond the paper, on the demo's SST-2 and tiny backbone (one seed): the methods and
    attacks of config/imperceptible.yaml (the Bad Characters families, DeepWordBug, query
    budgets), and the worked examples of your own method and attack
    (examples/own_method/config.yaml: a user kind, a user recipe, a TextAttack recipe by name)."""
    repo = checkout(tmp_path_factory.mktemp("extensions") / "repo")
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    imperceptible = yaml.safe_load((REPO / "config" / "imperceptible.yaml").read_text())
    own = yaml.safe_load((REPO / "examples" / "own_method" / "config.yaml").read_text())
    config = {**demo, "datasets": {"sst2": demo["datasets"]["sst2"]}, "seeds": [0]}
    config["methods"] = {**imperceptible["methods"], **own["methods"]}
    attacks = dict(imperceptible["attacks"])
    # The config leaves invisible out (MiniLM's tokenizer deletes zero-width characters);
    # the tiny RoBERTa reads every byte, so here it runs with the other families' settings.
    attacks.setdefault("invisible", {**attacks["homoglyph"], "recipe": "invisible"})
    config["attacks"] = {name: {**a, "num_examples": 8} for name, a in {**attacks, **own["attacks"]}.items()}
    (repo / "config" / "test.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(repo, "--cores", "2", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo
