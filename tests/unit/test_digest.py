"""Rerun triggers are derived: code digests from import closures, source fingerprints."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mvprepro import digest
from mvprepro.download.sources import BUILDERS
from mvprepro.stages import STAGES

STAGE_CODE = {name: stage.module for name, stage in STAGES.items()}

PACKAGE = Path(digest.__file__).resolve().parent


def test_training_closure_has_every_module_training_runs():
    closure = digest.import_closure("mvprepro.train.finetune")
    for module in ("adversarial", "probe", "checkpoint", "models", "prompts", "templates", "evaluate"):
        assert f"mvprepro.train.{module}" in closure
    assert "mvprepro.attack.recipes" not in closure  # an attack edit never retrains


def test_imports_inside_functions_count():
    # attack.run imports its recipes, wrapper and the model code inside attack().
    closure = digest.import_closure("mvprepro.attack.run")
    assert {"mvprepro.attack.recipes", "mvprepro.attack.wrapper", "mvprepro.train.models"} <= set(closure)


def test_every_module_is_in_some_stage():
    """No module of the package can change results without rerunning something."""
    covered = {m for entry in STAGE_CODE.values() for m in digest.import_closure(entry)}
    # Infrastructure that no job runs: the CLI dispatcher, the workflow's own config code,
    # GPU slot locking (before the stage starts) and the benchmarks.
    # The stage registry is the CLI's; the demo builders join the digest of the jobs whose
    # source is a builder (Plan._spec), not a stage's import closure.
    infrastructure = {"mvprepro.cli", "mvprepro.__main__", "mvprepro.gpu", "mvprepro.bench", "mvprepro.bench_docs", "mvprepro.agreement", "mvprepro.stages", "mvprepro.migrate", "mvprepro.lock"}
    covered |= set(digest.import_closure(BUILDERS))
    modules = set()
    for file in PACKAGE.rglob("*.py"):
        rel = file.relative_to(PACKAGE).with_suffix("")
        modules.add(".".join(["mvprepro", *[p for p in rel.parts if p != "__init__"]]))
    missing = modules - covered - infrastructure - {m for m in modules if m.startswith("mvprepro.config")}
    assert not missing


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package whose files a test may edit (the digest reads its own folder)."""
    copy = tmp_path / "mvprepro"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(digest, "ROOT", copy)
    digest.import_closure.cache_clear()
    digest.code_digest.cache_clear()
    yield copy
    digest.import_closure.cache_clear()
    digest.code_digest.cache_clear()


@pytest.mark.parametrize(
    "module,changes,stays",
    [
        ("train/adversarial.py", ["train"], ["prepare", "attack", "aggregate"]),
        ("train/finetune.py", ["train"], ["adapt_backbone", "evaluate", "attack"]),
        ("runtime.py", ["adapt_backbone", "train", "evaluate", "attack"], ["prepare", "merge_attack"]),
        ("download/builders.py", [], ["download_dataset", "download_backbone", "download_attack_resources"]),
        ("download/backbones.py", ["download_backbone", "download_attack_resources"], ["download_dataset"]),
        ("train/probe.py", ["train"], ["evaluate", "merge_attack"]),
        ("train/evaluate.py", ["train", "evaluate"], ["tokenize"]),
        ("resources/textfooler_stopwords.txt", ["attack", "download_attack_resources"], ["train"]),
        ("data/tasks.py", ["prepare", "tokenize"], ["train"]),
        ("aggregate/formats.py", ["aggregate", "compare", "adversarial_examples"], ["train", "evaluate"]),
    ],
)
def test_editing_a_module_changes_the_digest_of_its_stages(package_copy, module, changes, stays):
    before = {stage: digest.code_digest(entry) for stage, entry in STAGE_CODE.items()}
    with open(package_copy / module, "a", encoding="utf-8") as fh:
        fh.write("\n# an edit\n" if module.endswith(".py") else "anedit\n")
    digest.code_digest.cache_clear()
    after = {stage: digest.code_digest(entry) for stage, entry in STAGE_CODE.items()}
    for stage in changes:
        assert before[stage] != after[stage], stage
    for stage in stays:
        assert before[stage] == after[stage], stage


# Each stage's code: the modules whose edit reruns its jobs (its import closure, without the
# package's own __init__). A move that widens a stage's reruns changes a line here, in review.
STAGE_MODULES = {
    "inputs": "aggregate aggregate.formats download download.pins download.sources fileio report report.inputs",
    "download_dataset": "download download.datasets download.local_files download.packages download.pins download.sources fileio values",
    "download_backbone": "architectures download download.backbones download.packages download.pins download.sources fileio",
    "download_attack_resources": "architectures download download.attack_resources download.backbones download.counterfit download.nltk_packages download.packages download.pins download.sources fileio resources",
    "prepare": "data data.prepare data.tasks fileio values",
    "tokenize": "data data.tasks data.tokenize fileio values",
    "adapt_backbone": "fileio runtime train train.adapt train.optimizer",
    "check_prompts": "architectures fileio train train.check train.prompts train.templates",
    "train": "architectures data data.subsets fileio names plugins runtime train train.adversarial train.checkpoint train.evaluate train.finetune train.models train.optimizer train.probe train.prompts train.templates",
    "evaluate": "architectures fileio names plugins runtime train train.evaluate train.models train.prompts train.templates",
    "attack": "architectures attack attack.characters attack.encoders attack.imperceptible attack.recipes attack.run attack.wrapper data data.tasks data.tokenize digest fileio names plugins resources runtime train train.evaluate train.models train.prompts train.templates values",
    "merge_attack": "attack attack.merge fileio",
    "aggregate": "aggregate aggregate.formats aggregate.tables fileio",
    "costs": "aggregate aggregate.costs fileio",
    "compare": "aggregate aggregate.formats aggregate.tables data data.subsets fileio report report.compare",
    "plots": "aggregate aggregate.formats aggregate.tables fileio report report.plots",
    "training_curves": "aggregate aggregate.formats aggregate.tables fileio report report.plots",
    "effective_robustness": "aggregate aggregate.formats aggregate.tables fileio report report.ood report.plots",
    "adversarial_examples": "aggregate aggregate.formats aggregate.tables attack attack.characters data data.tasks fileio report report.examples values",
    "sample_efficiency": "aggregate aggregate.formats aggregate.tables data data.subsets fileio report report.compare report.efficiency report.plots",
    "adv_sweep": "aggregate aggregate.formats aggregate.tables fileio report report.adv_sweep report.plots",
    "query_budget": "aggregate aggregate.formats aggregate.tables fileio report report.plots report.query_budget",
}


def test_each_stage_runs_exactly_the_modules_pinned_here():
    found = {name: " ".join(m.replace("mvprepro.", "") for m in digest.import_closure(module) if m != "mvprepro") for name, module in STAGE_CODE.items()}
    assert found == STAGE_MODULES


def test_builders_rerun_only_the_jobs_built_by_them(package_copy):
    """Editing a demo builder changes the spec of a download whose source is a builder, and
    of nothing fetched from a package (config/real.yaml)."""
    import yaml
    from snakemake.utils import validate

    from mvprepro import config as cfg

    repo = PACKAGE.parents[1]

    def plan(name):
        data = yaml.safe_load((repo / name).read_text())
        validate(data, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
        return cfg.Plan(data)

    def specs():
        demo, real = plan("config/demo.yaml"), plan("config/real.yaml")
        return (
            [demo.download_dataset(d) for d in demo.datasets] + [demo.download_backbone(b) for b in demo.backbones] + [demo.download_attack_resources()],
            [real.download_dataset(d) for d in real.datasets] + [real.download_backbone(b) for b in real.backbones] + [real.download_attack_resources()],
        )

    demo_before, real_before = specs()
    with open(package_copy / "download" / "builders.py", "a", encoding="utf-8") as fh:
        fh.write("\n# an edit\n")
    digest.code_digest.cache_clear()
    demo_after, real_after = specs()
    assert real_after == real_before
    assert all(a != b for a, b in zip(demo_after, demo_before))


def test_a_new_module_joins_the_digest_when_imported(package_copy):
    (package_copy / "train" / "helper.py").write_text("X = 1\n")
    before = digest.code_digest("mvprepro.train.finetune")
    with open(package_copy / "train" / "finetune.py", "a", encoding="utf-8") as fh:
        fh.write("\nfrom . import helper  # noqa\n")
    digest.import_closure.cache_clear()
    digest.code_digest.cache_clear()
    assert "mvprepro.train.helper" in digest.import_closure("mvprepro.train.finetune")
    (package_copy / "train" / "helper.py").write_text("X = 2\n")
    digest.code_digest.cache_clear()
    assert digest.code_digest("mvprepro.train.finetune") != before


def test_source_fingerprint_sees_edits_inside_a_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"label": 0}\n')
    before = digest.source_fingerprint(folder)
    mtime = folder.stat().st_mtime_ns
    (folder / "train.jsonl").write_text('{"label": 1}\n')
    os.utime(folder, ns=(mtime, mtime))  # the folder itself looks untouched
    assert digest.source_fingerprint(folder) != before
    assert digest.source_fingerprint(tmp_path / "missing") == [[str(tmp_path / "missing"), "missing"]]


def test_source_fingerprint_ignores_a_touch_but_not_a_new_file(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    before = digest.source_fingerprint(tmp_path)
    os.utime(tmp_path / "a.csv", ns=(1, 1))  # restored from a backup, or touched
    assert digest.source_fingerprint(tmp_path) == before
    (tmp_path / "b.csv").write_text("y\n")
    assert digest.source_fingerprint(tmp_path) != before


def test_digest_of_ignores_key_order():
    assert digest.digest_of({"a": 1, "b": [1, 2]}) == digest.digest_of({"b": [1, 2], "a": 1})
    assert digest.digest_of({"a": 1}) != digest.digest_of({"a": 2})
