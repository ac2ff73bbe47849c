"""The workflow on a real Slurm cluster, through the Slurm executor plugin and a profile.

scripts/slurm-local.sh brings up a single-node cluster on this machine (munge, slurmctld,
slurmd from Debian packages; root). The test then runs a reduced demo (one dataset, one
seed, both methods and both attacks) with ``--profile tests/slurm/profile.yaml`` and checks
that training and attack jobs really went through ``sbatch``: Snakemake reports each
submission, Slurm still lists each job (MinJobAge keeps finished jobs visible), and each
job's Slurm log shows the rule running inside the allocation.

In CI (CI=true) a cluster that cannot be started fails the test; elsewhere the test skips
when it cannot start one (not root, no apt). Skip it on purpose with ``-m "not slurm"``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import checkout, REPO, snakemake

SCRIPT = REPO / "scripts" / "slurm-local.sh"
PROFILE = REPO / "tests" / "slurm" / "profile.yaml"

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    """CI must run this test, so there a missing cluster is a failure; locally a skip."""
    if _in_ci():
        pytest.fail(f"Slurm integration test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster() -> None:
    """A running single-node cluster (started, and installed if need be, by the script)."""
    if os.geteuid() != 0 and shutil.which("sinfo") is None:
        _unavailable("Slurm is not installed and installing it needs root (sudo bash scripts/slurm-local.sh)")
    if os.geteuid() == 0 and shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        _unavailable("Slurm is not installed and there is no apt-get to install it")
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        message = f"scripts/slurm-local.sh failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        if os.geteuid() != 0:
            _unavailable(message)
        pytest.fail(message)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The reduced demo, run to the end through sbatch."""
    repo = checkout(tmp_path_factory.mktemp("slurm") / "repo")
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    config["datasets"] = {"sst2": config["datasets"]["sst2"]}
    config["seeds"] = [0]
    config["methods"] = {k: config["methods"][k] for k in ("mlp_ft", "mvp")}
    (repo / "config" / "slurm.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(repo, "--profile", str(PROFILE), "--configfile", "config/slurm.yaml", timeout=2400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-8000:]
    return repo, result


def _submissions(result: subprocess.CompletedProcess) -> dict[str, list[tuple[str, Path]]]:
    """rule -> [(Slurm job id, Slurm log file)], from Snakemake's submission messages."""
    by_rule: dict[str, list[tuple[str, Path]]] = {}
    for _, slurm_id, log in SUBMITTED.findall(result.stdout + result.stderr):
        log_path = Path(log)  # .snakemake/slurm_logs/rule_<rule>/<wildcards>/<id>.log
        rule_dir = next(p.name for p in log_path.parents if p.name.startswith("rule_"))
        by_rule.setdefault(rule_dir.removeprefix("rule_"), []).append((slurm_id, log_path))
    return by_rule


@pytest.mark.slurm
def test_train_and_attack_jobs_go_through_sbatch(slurm_run):
    repo, result = slurm_run
    jobs = _submissions(result)
    assert len(jobs.get("train", [])) == 2, jobs  # sst2 x (mlp_ft, mvp) x seed 0
    assert len(jobs.get("attack", [])) == 4, jobs  # x (textfooler, textbugger)
    assert {"prepare", "tokenize", "evaluate", "merge_attack", "aggregate"} <= set(jobs)
    # Downloads are local rules: they run on the submitting host, never on a compute node.
    assert not [rule for rule in jobs if rule.startswith("download_")]
    assert (repo / "resources" / "attack" / "manifest.json").exists()

    # Slurm's own record of the run: every submitted job, finished successfully.
    run_id = re.search(r"SLURM run ID: (\S+)", result.stdout + result.stderr).group(1)
    listed = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%k"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    states = {jid: (state, comment) for jid, state, comment in (line.split("|", 2) for line in listed.split())}
    for rule in ("train", "attack"):
        for slurm_id, log in jobs[rule]:
            state, comment = states[slurm_id]
            assert state == "COMPLETED", (slurm_id, state, comment)
            assert comment.startswith(f"rule_{rule}_wildcards_sst2_tiny-roberta_"), comment
            # The job's Slurm log (written by slurmd) shows Snakemake running the rule there.
            text = log.read_text()
            assert f"Finished jobid: 0 (Rule: {rule})" in text, text[-2000:]


@pytest.mark.slurm
def test_slurm_run_produces_the_table(slurm_run):
    repo, _ = slurm_run
    table = pd.read_csv(repo / "results" / "tables" / "main.csv")
    assert sorted(zip(table.dataset, table.method)) == [("sst2", "mlp_ft"), ("sst2", "mvp")]
    assert (table.num_seeds == 1).all()
    for col in ("clean_mean", "textfooler_robust_mean", "textbugger_robust_mean"):
        assert table[col].between(0, 100).all(), col
    md = (repo / "results" / "tables" / "main.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Dataset")]
    assert len(rows) == 2 and all("sst2" in row for row in rows), md
