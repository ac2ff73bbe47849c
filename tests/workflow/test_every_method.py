"""Every method kind, +adv and the budget sweep train through the same rules."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from helpers import copy_run, small_demo_config, snakemake

pytestmark = pytest.mark.workflow


def test_every_method_trains_through_the_same_rules(small_run, tmp_path):
    """All method kinds (and an untrained variant, and adversarial training) on demo data,
    added to a finished run of the small demo (its MLP-FT and MVP runs are reused)."""
    repo = copy_run(small_run, tmp_path / "repo")
    config = small_demo_config()
    config["methods"] = {
        "mlp_ft": {"kind": "mlp_ft"},
        "lpft": {"kind": "lpft", "probe_c": [0.1, 1.0]},
        "projectcls": {"kind": "projectcls"},
        "clsprompt": {"kind": "clsprompt"},
        "mvp": {"kind": "mvp"},
        "mlp_ft_adv": {"kind": "mlp_ft", "adv": {"epsilon": 0.5, "epsilon_unit": "embedding_norm", "warmup_epochs": 1}},
        "mvp_adv": {"kind": "mvp", "adv": {"norm": "linf", "epsilon": 0.01, "objective": "adversarial"}},
        "untrained_mvp": {"kind": "mvp", "untrained": True},
    }
    # The budget sweep: one more mlp_ft_adv run at 0.25, attacked by TextFooler alone.
    config["adv_sweep"] = {"methods": ["mlp_ft_adv"], "epsilons": [0.25, 0.5], "attacks": ["textfooler"]}
    (repo / "config" / "methods.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(repo, "--cores", "2", "--configfile", "config/methods.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    # The small run's MLP-FT and MVP had the same specs: finished, so not trained again.
    trained = {line.split("method=")[1].split(",")[0] for line in result.stderr.splitlines() if line.strip().startswith("wildcards:") and "seed=" in line and "attack=" not in line and "target=" not in line}
    assert trained and not trained & {"mlp_ft", "mvp"}, trained
    table = pd.read_csv(repo / "results" / "tables" / "main.csv")
    # In the paper's order (clean methods by kind, then +adv), whatever the config's; the
    # sweep's run is not a row.
    assert list(table.method) == ["mlp_ft", "projectcls", "lpft", "clsprompt", "mvp", "untrained_mvp", "mlp_ft_adv", "mvp_adv"]
    sweep = pd.read_csv(repo / "results" / "tables" / "adv_sweep.csv")
    assert list(zip(sweep.run, sweep.epsilon)) == [("mlp_ft", 0.0), ("mlp_ft_adv-eps0.25", 0.25), ("mlp_ft_adv", 0.5)]
    assert sweep.textfooler_robust_accuracy_mean.between(0, 100).all()
    assert (repo / "results" / "plots" / "adv_sweep.png").read_bytes()[:4] == b"\x89PNG"
    variant = repo / "results" / "runs" / "sst2" / "tiny-roberta" / "mlp_ft_adv-eps0.25" / "size-full" / "seed-0"
    assert json.loads((variant / "metrics.json").read_text())["adv"]["epsilon_setting"] == 0.25
    assert sorted(p.name for p in (variant / "eval-sst2" / "attacks").glob("*.json")) == ["textfooler.json"]
    assert table[["clean_mean", "textfooler_robust_mean", "textbugger_robust_mean"]].notna().all().all()
    run = repo / "results" / "runs" / "sst2" / "tiny-roberta"
    assert "probe" in json.loads((run / "lpft" / "size-full" / "seed-0" / "metrics.json").read_text())
    assert json.loads((run / "mvp_adv" / "size-full" / "seed-0" / "model" / "method.json").read_text())["adv"]["norm"] == "linf"
