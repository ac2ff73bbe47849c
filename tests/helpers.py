"""Helpers the test modules share: a throwaway checkout of the workflow, running Snakemake in
it, and reading the rules of the workflow's rule files. Test modules import from here,
never from each other."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a checkout copies: everything a run of the workflow reads.
COPY = ("Snakefile", "config.yaml", "config", "workflow", "src", "profiles", "envs", "examples")
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


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


def snakemake(cwd: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
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
