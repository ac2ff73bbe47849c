"""The profiles: profiles/default (local runs, read on every run) and profiles/slurm.

Snakemake reads profiles/default together with `--profile profiles/slurm` and lets its keys
win, so the default profile must not carry anything that would bend a cluster run (a GPU
cap from a login node without GPUs, a short latency-wait). The Slurm profile must plan the
paper's grid with the per-rule GPU requests, and keep its cluster-specific values in one
place.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from snakemake.profiles import ProfileConfigFileParser
from helpers import checkout, REPO, snakemake, workflow_rules

from mvprepro import cli
from mvprepro.stages import STAGES



def _parse(path: Path) -> dict[str, object]:
    with open(path) as fh:
        return dict(ProfileConfigFileParser().parse(fh))


@pytest.mark.parametrize("visible,expected", [("0,1", ["gpu=2"]), ("GPU-aa", ["gpu=1"]), ("", None)])
def test_default_profile_caps_gpu_jobs_at_the_gpus_present(monkeypatch, visible, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    profile = _parse(REPO / "profiles" / "default" / "profile.yaml")
    assert profile.get("resources") == expected
    assert profile["cores"] == "all"
    # Keys a cluster profile needs to set itself: the workflow profile would override them.
    assert not {"latency-wait", "jobs", "executor", "default-resources", "set-resources", "retries"} & set(profile)


def test_slurm_profile_keeps_cluster_values_in_one_place():
    text = (REPO / "profiles" / "slurm" / "profile.yaml").read_text()
    for placeholder in ("<your-account>", "<cpu-partition>", "<gpu-partition>"):
        assert text.count(placeholder) == 1, placeholder
    profile = _parse(REPO / "profiles" / "slurm" / "profile.yaml")
    assert profile["executor"] == "slurm"
    assert int(profile["retries"]) >= 1 and int(profile["latency-wait"]) >= 30
    assert "slurm_account=<your-account>" in profile["default-resources"]
    assert "slurm_partition=<cpu-partition>" in profile["default-resources"]
    # The rules sent to the GPU partition are exactly those running a stage the registry
    # marks as GPU stage (mvprepro.stages), and nothing else.
    gpu_commands = {s.command for s in STAGES.values() if s.gpu}
    gpu_rules = {r.name for r in workflow_rules() if set(r.commands) & gpu_commands}
    assert gpu_rules >= {"adapt_backbone", "train", "evaluate", "attack"}
    in_profile = {item.split(":", 1)[0] for item in profile["set-resources"] if "slurm_partition=<gpu-partition>" in item}
    assert in_profile == gpu_rules
    for rule in gpu_rules:
        assert f"{rule}:cpus_per_gpu=threads" in profile["set-resources"]


def _resources(result, rule: str) -> dict[str, str]:
    """The resources line of the first planned job of ``rule`` in a dry run."""
    block = (result.stdout + result.stderr).split(f"\nrule {rule}:\n", 1)[1]
    line = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE).group(1)
    return dict(item.split("=", 1) for item in line.split(", "))


def test_slurm_profile_plans_the_paper_grid(tmp_path):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--profile", "profiles/slurm")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    train = _resources(result, "train")
    assert train["gpu"] == "1" and train["cpus_per_gpu"] == "2"  # the rule's threads
    assert train["slurm_partition"] == "<gpu-partition>" and train["runtime"] == "1440"
    assert _resources(result, "attack")["gpu"] == "1"
    prepare = _resources(result, "prepare")
    assert "gpu" not in prepare and prepare["slurm_partition"] == "<cpu-partition>"


def test_only_download_rules_touch_the_network_and_they_stay_local():
    """Compute nodes may be offline: the download rules are local rules (they run where
    Snakemake runs, e.g. the login node), and every other CLI command switches the Hugging
    Face libraries to offline mode."""
    downloads = [r for r in workflow_rules() if r.name.startswith("download_")]
    assert len(downloads) == 3
    assert all("localrule" in r.directives for r in downloads)
    assert {c for r in downloads for c in r.commands} == cli.ONLINE_COMMANDS
    others = {c for r in workflow_rules() if not r.name.startswith("download_") for c in r.commands}
    assert not others & cli.ONLINE_COMMANDS


def test_retries_get_more_runtime(tmp_path):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--profile", "profiles/slurm", "--attempt", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _resources(result, "train")["runtime"] == "2880"
    assert _resources(result, "evaluate")["runtime"] == "120"


PROBE = """

rule gpu_slots_probe:
    output:
        "probe.txt",
    shell:
        "echo ${{MVPREPRO_GPU_SLOTS:-none}} > {output}"
"""


@pytest.mark.parametrize(
    "visible,args,expected",
    [
        (None, ["--resources", "gpu=2"], "0,1"),
        ("3,5,6", [], "3,5,6"),  # profiles/default counts the visible devices
        ("3,5,6", ["--resources", "gpu=1"], "3"),
        ("", [], "none"),  # no GPU: no slots, jobs keep CUDA_VISIBLE_DEVICES as it is
    ],
)
def test_local_runs_hand_out_gpu_slots(tmp_path, monkeypatch, visible, args, expected):
    """What a local job sees: the devices it may claim one of (src/mvprepro/gpu.py)."""
    repo = checkout(tmp_path / "repo")
    with open(repo / "Snakefile", "a") as fh:
        fh.write(PROBE)
    monkeypatch.delenv("MVPREPRO_GPU_SLOTS", raising=False)
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    result = snakemake(repo, "probe.txt", "--cores", "1", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (repo / "probe.txt").read_text().strip() == expected


def test_resource_blocks_of_the_schema_are_the_registrys_gpu_stages():
    """The config's ``resources.<key>`` blocks (the schema) size exactly the GPU stages of
    the registry, each rule reads the block its stage names, and every block asks for one
    GPU by default: a new GPU stage without a block, or a block left behind, fails here."""
    import yaml

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    blocks = schema["properties"]["resources"]["properties"]
    gpu = [s for s in STAGES.values() if s.gpu]
    assert {s.resources for s in gpu} == set(blocks)
    assert all(s.resources is None for s in STAGES.values() if not s.gpu)
    for key, block in blocks.items():
        assert block["properties"]["gpu"]["default"] == 1, key
        assert set(block["properties"]) == {"gpu", "mem_mb", "runtime", "threads"}, key
    by_command = {s.command: s for s in STAGES.values()}
    for rule in workflow_rules():
        body = rule.path.read_text().split(f"rule {rule.name}:\n", 1)[1].split("\nrule ", 1)[0]
        read = set(re.findall(r'resources_for\("(\w+)"', body))
        wanted = {by_command[c].resources for c in rule.commands if c in by_command} - {None}
        assert read == wanted, (rule.name, read, wanted)
