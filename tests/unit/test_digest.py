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
    closure = digest.import_closure("mvprepro.train.train")
    for module in ("adversarial", "probe", "checkpoint", "models", "prompts", "templates", "predict"):
        assert f"mvprepro.train.{module}" in closure
    assert "mvprepro.attack.recipes" not in closure  # an attack edit never retrains


def test_imports_inside_functions_count():
    # attack.attack imports its recipes, wrapper and the model code inside attack().
    closure = digest.import_closure("mvprepro.attack.attack")
    assert {"mvprepro.attack.recipes", "mvprepro.attack.wrapper", "mvprepro.train.models"} <= set(closure)


def test_every_module_is_in_some_stage():
    """No module of the package can change results without rerunning something."""
    covered = {m for entry in STAGE_CODE.values() for m in digest.import_closure(entry)}
    # Infrastructure that no job runs: the CLI dispatcher, the workflow's own config code,
    # GPU slot locking (before the stage starts) and the benchmarks.
    # The stage registry is the CLI's; the demo builders join the digest of the jobs whose
    # source is a builder (Plan._spec), not a stage's import closure.
    infrastructure = {"mvprepro.cli", "mvprepro.__main__", "mvprepro.gpu", "mvprepro.stages", "mvprepro.startup"}
    covered |= set(digest.import_closure(BUILDERS))
    modules = set()
    for file in PACKAGE.rglob("*.py"):
        rel = file.relative_to(PACKAGE).with_suffix("")
        modules.add(".".join(["mvprepro", *[p for p in rel.parts if p != "__init__"]]))
    # The planner and the tools a user runs by hand (lock, bench, migrate-layout) run no job.
    missing = modules - covered - infrastructure - {m for m in modules if m.startswith(("mvprepro.plan", "mvprepro.tools"))}
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
        ("train/train.py", ["train"], ["adapt_backbone", "evaluate", "attack"]),
        # A stage's module holds its entry alone: editing the evaluate stage reruns no train
        # or attack job, and the helpers it shares with them sit below all three.
        ("train/evaluate.py", ["evaluate"], ["train", "attack", "adapt_backbone"]),
        ("train/predict.py", ["train", "evaluate", "attack"], ["prepare", "merge_attack"]),
        ("data/tokenize.py", ["tokenize"], ["attack", "prepare"]),
        ("download/download_backbone.py", ["download_backbone"], ["download_attack_resources"]),
        ("aggregate/aggregate.py", ["aggregate"], ["compare", "plots", "sample_efficiency"]),
        ("report/compare.py", ["compare"], ["sample_efficiency"]),
        ("report/plots.py", ["plots"], ["training_curves", "effective_robustness", "sample_efficiency", "query_budget", "adv_sweep"]),
        ("runtime.py", ["adapt_backbone", "train", "evaluate", "attack"], ["prepare", "merge_attack"]),
        ("download/builders.py", [], ["download_dataset", "download_backbone", "download_attack_resources"]),
        ("download/backbones.py", ["download_backbone", "download_attack_resources"], ["download_dataset"]),
        ("train/probe.py", ["train"], ["evaluate", "merge_attack"]),
        ("attack_resources/textfooler_stopwords.txt", ["attack", "download_attack_resources"], ["train"]),
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
    "download_dataset": "digest download download.datasets download.download_dataset download.local_files download.packages download.pins download.sources fileio values",
    "download_backbone": "architectures digest download download.backbones download.download_backbone download.packages download.pins download.sources fileio",
    "download_attack_resources": "architectures attack_resources digest download download.backbones download.counterfit download.download_attack_resources download.nltk_packages download.packages download.pins download.sources fileio",
    "prepare": "data data.prepare data.tasks fileio values",
    "tokenize": "data data.encoding data.tasks data.tokenize fileio values",
    "adapt_backbone": "fileio runtime train train.adapt_backbone train.optimizer",
    "check_prompts": "architectures fileio train train.check_prompts train.prompts train.templates",
    "train": "architectures data data.subsets fileio names plugins runtime train train.adversarial train.checkpoint train.models train.optimizer train.predict train.probe train.prompts train.templates train.train",
    "evaluate": "architectures fileio names plugins runtime train train.evaluate train.models train.predict train.prompts train.templates",
    "attack": "architectures attack attack.attack attack.characters attack.encoders attack.imperceptible attack.recipes attack.wrapper attack_resources data data.encoding data.tasks digest fileio names plugins runtime train train.models train.predict train.prompts train.templates values",
    "merge_attack": "attack attack.merge_attack fileio",
    "aggregate": "aggregate aggregate.aggregate aggregate.formats aggregate.runs fileio",
    "costs": "aggregate aggregate.costs fileio",
    "inputs": "aggregate aggregate.formats aggregate.inputs digest download download.pins download.sources fileio",
    "compare": "aggregate aggregate.formats aggregate.runs data data.subsets fileio report report.compare report.published report.statistics",
    "plots": "aggregate aggregate.runs fileio report report.figures report.plots",
    "training_curves": "aggregate aggregate.runs fileio report report.figures report.training_curves",
    "effective_robustness": "aggregate aggregate.runs fileio report report.effective_robustness report.figures",
    "adversarial_examples": "aggregate aggregate.formats aggregate.runs attack attack.characters data data.tasks fileio report report.adversarial_examples values",
    "sample_efficiency": "aggregate aggregate.formats aggregate.runs fileio report report.figures report.sample_efficiency report.statistics",
    "query_budget": "aggregate aggregate.formats aggregate.runs fileio report report.figures report.query_budget",
    "adv_sweep": "aggregate aggregate.formats aggregate.runs fileio report report.adv_sweep report.figures",
}


def test_each_stage_runs_exactly_the_modules_pinned_here():
    """Pinned for the stages listed; a new stage needs no line here (the test below covers it)."""
    found = {name: " ".join(m.replace("mvprepro.", "") for m in digest.import_closure(module) if m != "mvprepro") for name, module in STAGE_CODE.items()}
    assert {name: found[name] for name in STAGE_MODULES} == STAGE_MODULES


def test_no_stage_runs_another_stages_module():
    """A stage module holds its entry function; what two stages share sits below both, so
    editing one stage's module reruns only its own jobs (and, through their inputs, its
    consumers), never a stage beside it."""
    stage_modules = set(STAGE_CODE.values())
    found = {name: sorted(stage_modules & set(digest.import_closure(module)) - {module}) for name, module in STAGE_CODE.items()}
    assert {name: others for name, others in found.items() if others} == {}


def test_each_stage_module_is_named_after_its_stage_and_holds_its_entry():
    for name, stage in STAGES.items():
        assert stage.module.rsplit(".", 1)[1] == name
        assert (PACKAGE / stage.group / f"{name}.py").is_file(), stage.module
        assert callable(stage.function()), name


def test_builders_rerun_only_the_jobs_built_by_them(package_copy):
    """Editing a demo builder changes the spec of a download whose source is a builder, and
    of nothing fetched from a package (config/real.yaml)."""
    import yaml
    from snakemake.utils import validate

    from mvprepro import plan as planner

    repo = PACKAGE.parents[1]

    def plan(name):
        data = yaml.safe_load((repo / name).read_text())
        validate(data, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
        return planner.Plan(data)

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
    before = digest.code_digest("mvprepro.train.train")
    with open(package_copy / "train" / "train.py", "a", encoding="utf-8") as fh:
        fh.write("\nfrom . import helper  # noqa\n")
    digest.import_closure.cache_clear()
    digest.code_digest.cache_clear()
    assert "mvprepro.train.helper" in digest.import_closure("mvprepro.train.train")
    (package_copy / "train" / "helper.py").write_text("X = 2\n")
    digest.code_digest.cache_clear()
    assert digest.code_digest("mvprepro.train.train") != before


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
