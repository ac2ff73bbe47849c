"""The workflow used as a Snakemake module, as catalog workflows are deployed: a project of
its own (its own Snakefile, config and results) names this workflow's Snakefile in a
``module`` and runs every rule of it. The shared ``small_run`` fixture is such a project,
on a reduced demo config (tests/helpers.py, ``module_project``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import SMALL, snakemake

pytestmark = pytest.mark.workflow


def _workflow(project):
    """The workflow folder the project's module names."""
    line = next(line for line in (project / "Snakefile").read_text().splitlines() if line.strip().endswith('Snakefile"'))
    return Path(line.strip().strip('"')).parent


def test_a_project_runs_the_workflow_as_a_module(small_run):
    project, workflow = small_run, _workflow(small_run)
    # Results, resources and logs are the project's; the workflow's folder stays as it was.
    main = pd.read_csv(project / "results" / "tables" / "main.csv")
    assert list(main.method) == ["mlp_ft", "mvp"]
    assert (main.clean_mean > 60).all(), main[["method", "clean_mean"]]  # both learned the task
    assert (project / "logs" / "train" / "sst2" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.log").is_file()
    assert (project / "resources" / "attack" / "manifest.json").is_file()
    assert not any((workflow / name).exists() for name in ("results", "resources", "logs", ".snakemake"))
    # The workflow's own folder (not the project's) is where its code comes from (its src/ on
    # the jobs' PYTHONPATH) and whose commit the inputs table names.
    commit = subprocess.run(["git", "-C", str(workflow), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert (project / "results" / "tables" / "inputs.md").read_text().splitlines()[0] == f"Code: git {commit}"
    spec = json.loads((project / "results/runs/sst2/tiny-roberta/mvp/size-full/seed-0/model/run_info.json").read_text())["spec"]
    assert spec["method"]["name"] == "mvp"
    # Finished: a second run plans nothing, with the project's config file or named again.
    for args in ([], ["--configfile", SMALL]):
        again = snakemake(project, "-n", "--cores", "1", *args)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
