"""Specs follow content, not wording: how a config is written (the order of its keys, a
default stated or left out) and a lock that pins exactly what a finished run downloaded
change no job's spec, so they plan nothing; a lock that pins something else does."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from mvprepro.plan import Plan, check
from mvprepro.stages import final_stages

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def _plan(config: dict, monkeypatch, root: Path = REPO) -> Plan:
    monkeypatch.chdir(root)  # prompts files and resources/ are relative to the workflow folder
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    check(config)
    return Plan(config, code_version="test")


def every_spec(plan: Plan) -> dict[str, set[str]]:
    """Every job's spec (as its params hold it), by stage: the final stages' jobs and,
    through the upstream specs the Plan names, every job they are built from."""
    todo = [plan.as_params(getattr(plan, stage)(**job)) for stage in final_stages() for job in plan.jobs(stage)]
    seen: set[str] = set()
    while todo:
        spec = todo.pop()
        if spec not in seen:
            seen.add(spec)
            todo.extend(plan.upstream_of[spec])
    by_stage: dict[str, set[str]] = {}
    for spec in seen:
        by_stage.setdefault(plan.stage_of[spec], set()).add(spec)
    return by_stage


def _sorted_keys(value):
    """A YAML round trip with every mapping's keys sorted (lists keep their order)."""
    return yaml.safe_load(yaml.safe_dump(value, sort_keys=True))


def _reversed_keys(value):
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def _load(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


@pytest.mark.parametrize("name", ["config/demo.yaml", "config/real.yaml", "config.yaml", "config/own_dataset.yaml", "config/sample_efficiency_demo.yaml"])
def test_reordering_a_configs_keys_changes_no_spec(name, monkeypatch):
    config = _load(name)
    before = every_spec(_plan(config, monkeypatch))
    assert sum(map(len, before.values())) > 20
    assert every_spec(_plan(_sorted_keys(config), monkeypatch)) == before
    assert every_spec(_plan(_reversed_keys(config), monkeypatch)) == before


def test_the_corpus_of_a_built_or_adapted_backbone_does_not_depend_on_key_order(monkeypatch):
    demo, real = _load("config/demo.yaml"), _load("config/real.yaml")
    assert _plan(_reversed_keys(demo), monkeypatch).backbone_corpus("tiny-roberta") == ["sst2", "ag_news", "boolq"]
    assert _plan(real, monkeypatch).adapt_corpus("minilm") == _plan(_reversed_keys(real), monkeypatch).adapt_corpus("minilm")


def test_tables_list_methods_and_attacks_in_the_papers_order(monkeypatch):
    plan = _plan(_reversed_keys(_load("config/demo.yaml")), monkeypatch)
    assert plan.methods == ["mlp_ft", "mvp", "mlp_ft_adv", "mvp_adv"]
    assert plan.attacks == ["textfooler", "textbugger"]
    assert plan.datasets == ["sst2", "ag_news", "boolq"]


def test_stating_the_default_training_size_changes_no_spec(monkeypatch):
    demo = _load("config/demo.yaml")
    before = every_spec(_plan(demo, monkeypatch))
    stated = copy.deepcopy(demo)
    stated["train_sizes"] = ["full"]
    assert every_spec(_plan(stated, monkeypatch)) == before
    stated = copy.deepcopy(demo)
    stated["datasets"]["sst2"]["train_sizes"] = ["full"]
    assert every_spec(_plan(stated, monkeypatch)) == before
    # A real size is a change: the tables gain a size column.
    sized = copy.deepcopy(demo)
    sized["train_sizes"] = [32, "full"]
    assert every_spec(_plan(sized, monkeypatch))["aggregate"] != before["aggregate"]


def _finished_downloads(root: Path, commit: str) -> None:
    """What a finished run's download jobs recorded: an unpinned hub dataset that resolved to ``commit``."""
    folder = root / "resources" / "datasets" / "sst2"
    folder.mkdir(parents=True)
    source = {"hub": "nyu-mll/glue", "name": "sst2"}
    (folder / "source.json").write_text(json.dumps({"name": "sst2", "source": source, "resolved": {"revision": commit}}))


def _hub_config(root: Path) -> dict:
    demo = _load("config/demo.yaml")
    for sub in ("config/prompts", "config/published.csv"):
        target = root / sub
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / sub).is_dir():
            import shutil

            shutil.copytree(REPO / sub, target)
        else:
            target.write_text((REPO / sub).read_text())
    demo["datasets"]["sst2"]["source"] = {"hub": "nyu-mll/glue", "name": "sst2"}
    return demo


def test_a_lock_that_pins_what_was_downloaded_changes_only_the_inputs_table(tmp_path, monkeypatch):
    commit = "a" * 40
    _finished_downloads(tmp_path, commit)
    config = _hub_config(tmp_path)
    before = every_spec(_plan(config, monkeypatch, tmp_path))
    locked = copy.deepcopy(config)
    locked["datasets"]["sst2"]["source"]["revision"] = commit
    after = every_spec(_plan(locked, monkeypatch, tmp_path))
    # The inputs table says what the config pins, so it alone is made again.
    assert {stage for stage in before if after[stage] != before[stage]} == {"inputs"}
    assert json.loads(next(iter(after["inputs"])))["pins"]["datasets.sst2"] == {"revision": commit}


def test_a_lock_that_pins_something_else_reruns_the_download_and_all_after_it(tmp_path, monkeypatch):
    _finished_downloads(tmp_path, "a" * 40)
    config = _hub_config(tmp_path)
    before = every_spec(_plan(config, monkeypatch, tmp_path))
    locked = copy.deepcopy(config)
    locked["datasets"]["sst2"]["source"]["revision"] = "b" * 40
    after = every_spec(_plan(locked, monkeypatch, tmp_path))
    changed = {stage for stage in before if after[stage] != before[stage]}
    assert {"download_dataset", "prepare", "tokenize", "train", "attack", "aggregate", "inputs"} <= changed
    assert "download_backbone" in changed  # the demo's backbone is built on the datasets' text
    spec = next(json.loads(s) for s in after["download_dataset"] if json.loads(s)["name"] == "sst2")
    assert spec["source"]["revision"] == "b" * 40


def test_a_download_made_under_a_lock_keeps_its_pin(tmp_path, monkeypatch):
    """Once downloaded with the pin, the pin stays in its spec (removing it would rerun the
    download, as any change of settings does)."""
    commit = "a" * 40
    folder = tmp_path / "resources" / "datasets" / "sst2"
    folder.mkdir(parents=True)
    pinned = {"hub": "nyu-mll/glue", "name": "sst2", "revision": commit}
    (folder / "source.json").write_text(json.dumps({"name": "sst2", "source": pinned, "resolved": {"revision": commit}}))
    config = _hub_config(tmp_path)
    config["datasets"]["sst2"]["source"]["revision"] = commit
    plan = _plan(config, monkeypatch, tmp_path)
    assert plan.download_dataset("sst2")["source"]["revision"] == commit


def test_a_local_source_changed_after_its_download_keeps_its_pin(tmp_path, monkeypatch):
    """Locked to what its download read, a local file's pin stays out of the spec; once the
    file changes, the pin joins it, so the download runs again under the lock (and stops,
    naming the source, since the file no longer matches)."""
    from mvprepro.digest import source_fingerprint
    from mvprepro.download.pins import local_resolution

    config = _hub_config(tmp_path)
    data = tmp_path / "data" / "sst2.jsonl"
    data.parent.mkdir()
    data.write_text('{"sentence": "a fine film", "label": 1}\n')
    config["datasets"]["sst2"]["source"] = {"path": "data/sst2.jsonl"}
    monkeypatch.chdir(tmp_path)
    resolved = local_resolution("data/sst2.jsonl", None, "datasets.sst2.source")
    assert resolved["fingerprint"] == source_fingerprint("data/sst2.jsonl")
    folder = tmp_path / "resources" / "datasets" / "sst2"
    folder.mkdir(parents=True)
    (folder / "source.json").write_text(json.dumps({"name": "sst2", "source": {"local": True}, "resolved": resolved}))
    locked = copy.deepcopy(config)
    locked["datasets"]["sst2"]["source"]["sha256"] = resolved["sha256"]
    assert "sha256" not in _plan(locked, monkeypatch, tmp_path).download_dataset("sst2")["source"]
    data.write_text('{"sentence": "a dull film", "label": 0}\n')
    assert _plan(locked, monkeypatch, tmp_path).download_dataset("sst2")["source"]["sha256"] == resolved["sha256"]
