"""The job graph is written twice, once as the rules' file edges and once as the Plan's
upstream specs (which make a job's provenance). For every job of every shipped config, the
jobs that make a rule's inputs must be exactly the jobs whose specs the Plan names as its
upstream: an input the Plan does not name would not rerun the job when it changes, and an
upstream the rule does not read would rerun it for nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, checkout

# Every shipped config (lock files are overlays of one, not configs of their own).
CONFIGS = ["config.yaml", *sorted(str(p.relative_to(REPO)) for p in (REPO / "config").glob("*.yaml") if not p.name.endswith(".lock.yaml"))]
DAG_JOBS = Path(__file__).resolve().parent / "dag_jobs.py"


def _jobs(repo: Path, configfile: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(DAG_JOBS), str(repo), configfile], cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _disagreements(jobs: list[dict]) -> list[str]:
    found = []
    for job in jobs:
        if job["spec"] is None:
            if job["rule"] != "all":
                found.append(f"rule {job['rule']} {job['wildcards']}: no spec in its params")
            continue
        if job["plan_upstream"] is None:
            found.append(f"rule {job['rule']} {job['wildcards']}: its params spec is not one the Plan made (spec not key-sorted?)")
            continue
        rule_only = set(job["made_by"]) - set(job["plan_upstream"])
        plan_only = set(job["plan_upstream"]) - set(job["made_by"])
        if rule_only or plan_only:
            found.append(f"rule {job['rule']} {job['wildcards']}: inputs made by {len(rule_only)} job(s) the Plan does not name, {len(plan_only)} named upstream job(s) it does not read")
    return found


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return checkout(tmp_path_factory.mktemp("job_graph") / "repo")


@pytest.mark.parametrize("configfile", CONFIGS)
def test_rule_inputs_are_made_by_exactly_the_plans_upstream_jobs(repo, configfile):
    jobs = _jobs(repo, configfile)
    assert len(jobs) > 10
    assert _disagreements(jobs) == []


def test_the_check_sees_an_upstream_the_rule_does_not_read(tmp_path):
    """A Plan that names the clean evaluations as upstream of the examples page (which reads
    only the attack records) is caught, job by job."""
    repo = checkout(tmp_path / "repo")
    specs = repo / "src" / "mvprepro" / "plan" / "plan.py"
    text = specs.read_text()
    wide = "upstream = [[self.merge_attack(**self.key(r), attack=a) for a in self.attacks] for r in runs]"
    assert wide in text
    specs.write_text(text.replace(wide, "upstream = self._results(runs)"))
    found = _disagreements(_jobs(repo, "config/demo.yaml"))
    assert len(found) == 3 and all(f.startswith("rule adversarial_examples") for f in found)
