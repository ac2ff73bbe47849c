"""Your own method and attack in the DAG (examples/own_method, examples/own_attack), end to end.

The worked example method (label words read at <s> through the LM head, plus a learned
class bias) trains beside MLP-FT and MVP on the demo's SST-2 (the ``extensions_run``
fixture); the example attack (keyboard typos) and TextAttack's own DeepWordBug, by name,
attack every model. Editing a user module replans exactly
the jobs that run it.
"""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import appended, final_rules_reading, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
METHOD = "examples/own_method/start_token_bias.py"
ATTACK = "examples/own_attack/keyboard_typos.py"


@pytest.fixture(scope="module")
def run(extensions_run):
    return extensions_run


def _text(columns: dict) -> str:
    return next(iter(columns.values()))  # SST-2 has one text column


def _eval(repo, method: str):
    return repo / f"results/runs/sst2/tiny-roberta/{method}/size-full/seed-0/eval-sst2"


def test_the_example_method_learns_and_saves_its_own_parameters(run):
    clean = json.loads((_eval(run, "start_bias") / "clean.json").read_text())
    assert clean["accuracy"] >= 75.0 and not clean["degenerate"], clean
    model = run / "results/runs/sst2/tiny-roberta/start_bias/size-full/seed-0/model"
    from safetensors.torch import load_file

    bias = load_file(str(model / "head.safetensors"))["class_bias.bias"]
    assert bias.shape == (2,) and bias.abs().sum() > 0  # trained, not the zeros it started from
    assert json.loads((model / "method.json").read_text())["options"] == {"pool": "max"}


def test_the_user_attack_and_a_textattack_recipe_by_name_run_and_report(run):
    broken = 0
    for method in ("mlp_ft", "mvp", "start_bias"):
        summary = json.loads((_eval(run, method) / "attacks" / "typos.json").read_text())
        notes = {c["constraint"]: c["detail"] for c in summary["constraints"]}
        assert notes["recipe"].startswith("examples.own_attack.keyboard_typos:build")
        assert notes["max_words_perturbed"] == "at most 2 words"  # options reached the builder
        assert summary["constraint_checks"]["MaxWordsPerturbed"]["checked"] > 0
        rows = [json.loads(line) for line in (_eval(run, method) / "attacks" / "typos.records.jsonl").read_text().splitlines()]
        for row in (r for r in rows if r["result"] == "successful"):
            before, after = _text(row["original_text"]).split(), _text(row["perturbed_text"]).split()
            changed = [(a, b) for a, b in zip(before, after) if a != b]
            assert len(before) == len(after) and 1 <= len(changed) <= 2
            assert all(len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1 for a, b in changed)  # one typo per word
        broken += sum(r["result"] == "successful" for r in rows)
        by_name = json.loads((_eval(run, method) / "attacks" / "deepwordbug_textattack.json").read_text())
        assert {c["constraint"]: c["detail"] for c in by_name["constraints"]}["recipe"].startswith("textattack:deepwordbug")
        assert by_name["num_examples"] == 8
    assert broken > 0, "the typos attack never succeeded: nothing above was checked"


def test_editing_a_user_module_replans_exactly_the_jobs_that_run_it(run):
    assert planned_jobs(run, "config/test.yaml") == set()
    with appended(run / METHOD, "\n# an edit\n"):
        jobs = planned_jobs(run, "config/test.yaml")
    rules = {rule for rule, _ in jobs}
    per_run = {(rule, w) for rule, w in jobs if rule in ("train", "evaluate", "attack", "merge_attack")}
    assert {rule for rule, _ in per_run} == {"train", "evaluate", "attack", "merge_attack"}
    assert all("method=start_bias" in w for _, w in per_run), per_run  # never MLP-FT's jobs
    assert rules <= {"train", "evaluate", "attack", "merge_attack", *final_rules_reading(run, "config/test.yaml", "train", lambda s: s["method"]["name"] == "start_bias")}
    with appended(run / ATTACK, "\n# an edit\n"):
        jobs = planned_jobs(run, "config/test.yaml")
    per_run = {(rule, w) for rule, w in jobs if rule in ("train", "evaluate", "attack", "merge_attack")}
    assert {rule for rule, _ in per_run} == {"attack", "merge_attack"}
    assert all("attack=typos" in w for _, w in per_run), per_run
    assert {w for rule, w in per_run if rule == "attack"} and len({w for _, w in per_run}) == 6  # 3 methods x (attack, merge)
    assert planned_jobs(run, "config/test.yaml") == set()  # the edits were undone: nothing to do


def test_a_broken_user_module_fails_before_any_job_with_its_key(run):
    broken = run / "examples" / "own_method" / "broken.py"
    broken.write_text("import torch\n\nraise RuntimeError('half-written module')\n\n\nclass Nothing:\n    pass\n")
    config = yaml.safe_load((run / "config" / "test.yaml").read_text())
    config["methods"]["start_bias"]["kind"] = "examples.own_method.broken:Nothing"
    (run / "config" / "broken.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(run, "-n", "--cores", "1", "--configfile", "config/broken.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "methods.start_bias.kind" in output and "raised RuntimeError: half-written module" in output
    config["methods"]["start_bias"]["kind"] = "examples.own_method.start_token_bias:StartTokenBias"
    config["attacks"]["typos"]["recipe"] = "examples.own_attack.missing:build"
    (run / "config" / "broken.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(run, "-n", "--cores", "1", "--configfile", "config/broken.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "attacks.typos.recipe" in output and "no module 'examples.own_attack.missing'" in output
