"""The workflow used as a Snakemake module, as catalog workflows are deployed: a project of
its own (its own Snakefile, config and results) that names this workflow's Snakefile in a
``module`` and runs every rule of it, on a reduced demo config."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from helpers import REPO, checkout, snakemake

pytestmark = pytest.mark.workflow

PROJECT_SNAKEFILE = """\
configfile: "config/config.yaml"


module mvp:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from mvp as mvp_*
"""


def test_a_project_runs_the_workflow_as_a_module(tmp_path):
    workflow = checkout(tmp_path / "mvp-repro")
    # A clone of its own, as a user's copy of the workflow is: the inputs table names its commit.
    git = ["git", "-C", str(workflow), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the workflow"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    # What a user copies from the workflow (as snakedeploy does): the config and the files it names.
    shutil.copytree(REPO / "config" / "prompts", project / "config" / "prompts")
    shutil.copy(REPO / "config" / "published.csv", project / "config" / "published.csv")
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    config = {**demo, "datasets": {"sst2": demo["datasets"]["sst2"]}, "seeds": [0]}
    config["methods"] = {m: demo["methods"][m] for m in ("mlp_ft", "mvp")}
    config["attacks"] = {"textfooler": {**demo["attacks"]["textfooler"], "num_examples": 8}}
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / "Snakefile").write_text(PROJECT_SNAKEFILE.format(snakefile=workflow / "Snakefile"))

    result = snakemake(project, "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    # Results, resources and logs are the project's; the workflow's folder stays as it was.
    main = pd.read_csv(project / "results" / "tables" / "main.csv")
    assert set(main.method) == {"mlp_ft", "mvp"}
    assert (main.clean_mean > 60).all(), main[["method", "clean_mean"]]  # both learned the task
    assert (project / "logs" / "train" / "sst2" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.log").is_file()
    assert (project / "resources" / "attack" / "manifest.json").is_file()
    assert not any((workflow / name).exists() for name in ("results", "resources", "logs"))
    # The workflow's own folder (not the project's) is where its code comes from (its src/ on
    # the jobs' PYTHONPATH) and whose commit the inputs table names.
    assert (project / "results" / "tables" / "inputs.md").read_text().splitlines()[0] == f"Code: git {commit}"
    # Finished: a second run plans nothing.
    again = snakemake(project, "-n", "--cores", "1")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
