"""Helpers the test modules share: a throwaway checkout of the workflow, running Snakemake in
it, and reading the rules of the workflow's rule files. Test modules import from here,
never from each other."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from interrupt import run_then_stop

REPO = Path(__file__).resolve().parents[1]
# What a checkout copies: everything a run of the workflow reads.
COPY = ("Snakefile", "config.yaml", "config", "workflow", "src", "profiles", "envs", "examples")
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


# A project of its own that uses the workflow as a Snakemake module, as catalog workflows
# are deployed (README, "Use it in your own project").
MODULE_SNAKEFILE = """\
configfile: "{configfile}"


module mvp:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from mvp
"""


def module_project(dest: Path, workflow: Path, configfile: str, config: dict) -> Path:
    """A project in ``dest`` that runs ``workflow`` (a checkout) as a module with ``config``,
    holding what a user copies from the workflow: the config and the files it names."""
    (dest / "config").mkdir(parents=True)
    shutil.copytree(REPO / "config" / "prompts", dest / "config" / "prompts")
    shutil.copy(REPO / "config" / "published.csv", dest / "config" / "published.csv")
    (dest / configfile).write_text(yaml.safe_dump(config, sort_keys=False))
    (dest / "Snakefile").write_text(MODULE_SNAKEFILE.format(configfile=configfile, snakefile=workflow / "Snakefile"))
    return dest


def checkout(dest: Path) -> Path:
    """A copy of the workflow, so tests never touch the developer's results/."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dest / name)
    return dest


def snakemake(cwd: Path, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    exe = Path(sys.executable).with_name("snakemake")
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Rule:
    name: str
    path: Path
    directives: set[str] = field(default_factory=set)
    conda: str | None = None
    commands: list[str] = field(default_factory=list)


def workflow_rules() -> list[Rule]:
    """Every rule of the workflow, read from the (snakefmt-formatted) rule files."""
    rules = []
    for path in RULE_FILES:
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^(?:rule|checkpoint) (\w+):", text, re.MULTILINE)]
        for i, (start, name) in enumerate(starts):
            block = text[start : starts[i + 1][0] if i + 1 < len(starts) else len(text)]
            # The rule body ends at the first line back at column 0 (a def, a comment, ...).
            body = re.split(r"\n(?=\S)", block, maxsplit=1)[0]
            rule = Rule(name, path, set(re.findall(r"^    (\w+):", body, re.MULTILINE)))
            conda = re.search(r'^    conda:\n\s+"([^"]+)"', body, re.MULTILINE)
            if conda:
                rule.conda = conda.group(1)
            rule.commands = re.findall(r"python -m mvprepro ([\w-]+)", body)
            rules.append(rule)
    return rules


# ---------------------------------------------------------------- planning and editing runs

# The demo's shape at its smallest (the small_run fixture): one dataset, one seed, MLP-FT
# and MVP, both attacks on 8 examples.
SMALL = "config/small.yaml"


def small_demo_config() -> dict:
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    config = {**demo, "datasets": {"sst2": demo["datasets"]["sst2"]}, "seeds": [0]}
    config["methods"] = {m: demo["methods"][m] for m in ("mlp_ft", "mvp")}
    config["attacks"] = {name: {**attack, "num_examples": 8} for name, attack in demo["attacks"].items()}
    return config


# The rules with one job per run (or per evaluation of a run).
RUN_RULES = ("check_prompts", "train", "evaluate", "attack", "merge_attack")


def load_plan(repo: Path, configfile: str):
    """The Plan of a config of a checkout, as its Snakefile makes it (prompts files and
    resources are relative to the checkout)."""
    from snakemake.utils import validate

    from mvprepro.plan import Plan

    config = yaml.safe_load((repo / configfile).read_text())
    # A project that uses the workflow as a module has no workflow/ of its own.
    root = repo if (repo / "workflow").is_dir() else REPO
    validate(config, str(root / "workflow" / "schemas" / "config.schema.yaml"))
    here = os.getcwd()
    os.chdir(repo)
    try:
        plan = Plan(config)
        plan.default_targets()
    finally:
        os.chdir(here)
    return plan


def final_rules_reading(repo: Path, configfile: str, stage: str, match=lambda spec: True) -> set[str]:
    """The final rules (tables, figures, pages) whose jobs are built from some job of
    ``stage`` whose spec satisfies ``match``, and ``all``: what a change of those jobs
    reaches. Derived from the Plan's upstream specs and the stage registry, so a new
    summary stage is counted without a test edit."""
    from mvprepro.stages import final_stages

    here = os.getcwd()
    os.chdir(repo)
    try:
        plan = load_plan(repo, configfile)
        rules = {"all"}
        for final in final_stages():
            for job in plan.jobs(final):
                todo, seen = [plan.as_params(getattr(plan, final)(**job))], set()
                while todo:
                    spec = todo.pop()
                    if spec not in seen:
                        seen.add(spec)
                        todo.extend(plan.upstream_of[spec])
                if any(plan.stage_of[s] == stage and match(json.loads(s)) for s in seen):
                    rules.add(final)
    finally:
        os.chdir(here)
    return rules


def planned_counts(result: subprocess.CompletedProcess) -> dict[str, int]:
    counts = {}
    for line in result.stdout.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m:
            counts[m.group(1)] = int(m.group(2))
    return counts


def planned_jobs(repo: Path, *configfiles: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute."""
    result = snakemake(repo, "-n", "--cores", "1", "--configfile", *configfiles)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs, rule = set(), None
    for line in (result.stdout + result.stderr).splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
            jobs.add((rule, ""))
        m = re.match(r"^wildcards: (.*)$", line.strip())
        if m and rule:
            jobs.discard((rule, ""))
            jobs.add((rule, m.group(1)))
    return jobs


def edited_config(repo: Path, edit, base: str = "config/demo.yaml") -> str:
    config = yaml.safe_load((repo / base).read_text())
    edit(config)
    # Key order kept: dataset and attack order is part of the tables (and of their params).
    (repo / "config" / "edited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return "config/edited.yaml"


@contextlib.contextmanager
def appended(path: Path, text: str):
    """``path`` with ``text`` appended for the duration of the block, then restored."""
    original = path.read_text()
    try:
        path.write_text(original + text)
        yield
    finally:
        path.write_text(original)


def copy_run(src: Path, dest: Path) -> Path:
    """A copy of a finished run, metadata and modification times included."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def start_and_kill(repo: Path, configfile: str, started, sig: int = signal.SIGKILL) -> None:
    """Run the workflow and stop it with ``sig`` once ``started(repo)``: SIGINT is a user's
    Ctrl-C; SIGKILL of the whole process group a node failure or a time limit, after which
    the user removes the stale lock with ``--unlock`` as Snakemake's message says."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), "--cores", "1", "--configfile", configfile]
    run_then_stop(cmd, lambda: started(repo), sig=sig, cwd=repo, env=env)
    if sig == signal.SIGKILL:
        assert snakemake(repo, "--unlock", "--configfile", configfile).returncode == 0


def assert_results_describe_config(repo: Path, configfile: str, monkeypatch) -> None:
    """Every model, clean accuracy and attack summary records exactly the spec the current
    config gives its job: no result of an older config survives anywhere."""
    monkeypatch.chdir(repo)  # prompts files are relative to the run directory
    plan = load_plan(repo, configfile)
    for run in plan.runs():
        key = plan.key(run)
        path = repo / "results" / "runs" / run["dataset"] / run["backbone"] / run["method"] / f"size-{run['size']}" / f"seed-{run['seed']}"
        assert json.loads((path / "model" / "run_info.json").read_text())["spec"] == plan.train(**key), path
        for target in [run["dataset"], *plan.targets(run["dataset"])]:
            evaluation = path / f"eval-{target}"
            assert json.loads((evaluation / "clean.json").read_text())["spec"] == plan.evaluate(**key, target=target), evaluation
            for attack in plan.attacks:
                summary = json.loads((evaluation / "attacks" / f"{attack}.json").read_text())
                assert summary["spec"] == plan.merge_attack(**key, attack=attack, target=target), (evaluation, attack)
