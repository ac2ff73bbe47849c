"""The workflow plans offline: the paper's grid, every shipped config, and bad configs stop before any job."""

from __future__ import annotations

import pytest

from helpers import checkout, edited_config, planned_counts, snakemake

pytestmark = pytest.mark.workflow


def test_paper_grid_plans_offline(tmp_path):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--cores", "1", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    plan = planned_counts(result)
    assert plan["train"] == 63  # 3 datasets x 7 methods x 3 seeds
    assert plan["evaluate"] == 63
    assert plan["merge_attack"] == 126  # x 2 attacks
    assert plan["attack"] == 126  # one shard each
    assert plan["download_dataset"] == 3 and plan["download_backbone"] == 1


@pytest.mark.parametrize(
    "configfile,trains",
    [
        ("config/ablations.yaml", 72),
        ("config/backbones.yaml", 36),
        ("config/ood.yaml", 18),
        ("config/ag_news_inline.yaml", 21),
        ("config/own_dataset.yaml", 4),
    ],
)
def test_other_shipped_configs_plan_offline(tmp_path, configfile, trains):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--cores", "1", "--quiet", "rules", "--configfile", configfile)
    assert result.returncode == 0, result.stderr
    assert planned_counts(result)["train"] == trains


def test_bad_config_fails_before_any_job(tmp_path):
    repo = checkout(tmp_path / "repo")
    path = edited_config(repo, lambda c: c["attacks"]["textfooler"].update(shards=5000))
    result = snakemake(repo, "-n", "--cores", "1", "--configfile", path)
    assert result.returncode != 0
    assert "attacks.textfooler.shards (5000) is larger than num_examples (1000)" in result.stdout + result.stderr
