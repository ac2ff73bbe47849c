"""CONTRIBUTING's layout table names every rule and every stage module, in the row of the
rule file the rule is in, so the map a new contributor reads cannot drift from the code."""

from __future__ import annotations

import re

from helpers import REPO, workflow_rules

from mvprepro.stages import STAGES


def _table() -> dict[str, tuple[set[str], set[str]]]:
    """Rule file -> (the rules, the stage modules) of its row."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text[text.index("## Layout") :]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith(".smk`"):
            rows[cells[0].strip("`")] = (set(re.findall(r"`(\w+)`", cells[1])), set(re.findall(r"`([\w/]+\.py)`", cells[2])))
    return rows


def test_the_layout_table_names_every_rule_in_its_rule_file():
    rows = _table()
    rules = [r for r in workflow_rules() if r.name != "all"]
    missing = [f"{r.name} ({r.path.name})" for r in rules if r.name not in rows.get(r.path.name, (set(), set()))[0]]
    assert missing == [], f"CONTRIBUTING.md's layout table misses these rules: {missing}"


def test_the_layout_table_names_every_stage_module():
    rows = _table()
    missing = [
        f"{stage.group}/{name}.py" for name, stage in STAGES.items() if f"{stage.group}/{name}.py" not in rows.get(f"{stage.group}.smk", (set(), set()))[1]
    ]
    assert missing == [], f"CONTRIBUTING.md's layout table misses these stage modules: {missing}"


def test_each_rule_is_in_the_rule_file_of_its_stage_group():
    for rule in workflow_rules():
        if rule.name in STAGES:
            assert rule.path.name == f"{STAGES[rule.name].group}.smk", rule.name
