"""Reading a validated config: what each key means, in one place below the Plan and validation.

The planner (:mod:`.plan`) turns these readings into job specs, and validation
(:mod:`.validate`) checks them; both import from here and never from each other, so a
method's settings travel one way, config -> readers -> spec. Nothing here checks a config
as a whole: a reader raises :class:`ConfigError` only for the one key it reads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .. import plugins
from ..data.tasks import Task, from_config, label_key
from ..names import METHOD_KINDS, PROMPT_KINDS, RECIPES, TASK_NAMES


class ConfigError(ValueError):
    """The config is invalid; the message lists every problem found."""


@lru_cache(maxsize=None)
def user_kind(kind: str, key: str) -> Any:
    """Your own method class (imported while planning, so a broken module fails before any
    job runs; it imports torch, which built-in kinds never make the planner load)."""
    from ..train.models import kind_class

    return kind_class(kind, key)


def reads_label_words(m: dict[str, Any], name: str) -> bool:
    """Whether method ``m`` reads label words (gets a verbalizer and templates): a built-in
    prompt kind, or a user's kind whose class sets ``reads_label_words``."""
    if m["kind"] in METHOD_KINDS:
        return m["kind"] in PROMPT_KINDS
    try:
        return bool(user_kind(m["kind"], f"methods.{name}.kind").reads_label_words)
    except plugins.PluginError:
        return False  # check() reports it


@lru_cache(maxsize=None)
def _read_prompts(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"prompts file {path!r} does not exist")
    data = yaml.safe_load(file.read_text())
    if not isinstance(data, dict) or "templates" not in data or "verbalizer" not in data:
        raise ConfigError(f"prompts file {path!r} must define 'templates' (a list) and 'verbalizer' (a list of word lists)")
    return data


def prompts_file(config: dict[str, Any], dataset: str, method: str, backbone: str | None = None) -> str:
    """The prompts file of a method on a dataset and backbone, the most specific first:
    ``methods.<m>.prompts.<dataset>``, ``backbones.<b>.prompts.<dataset>`` (e.g. GPT-2's
    templates, which must follow the input), ``datasets.<dataset>.prompts``."""
    for entry in (config["methods"][method], config["backbones"][backbone] if backbone else {}):
        path = (entry.get("prompts") or {}).get(dataset)
        if path:
            return str(path)
    if "prompts" not in config["datasets"][dataset]:
        raise ConfigError(
            f"datasets.{dataset}.prompts: prompt method {method!r} trains on {dataset}, which has no prompts "
            "file; add one (templates and verbalizer, as in config/prompts/)"
        )
    return str(config["datasets"][dataset]["prompts"])


def prompts_for(config: dict[str, Any], dataset: str, method: str, backbone: str | None = None) -> dict[str, Any]:
    """Templates and verbalizer of a prompt method on a dataset (and backbone)."""
    m = config["methods"][method]
    data = _read_prompts(prompts_file(config, dataset, method, backbone))
    templates = list(m.get("templates", data["templates"]))
    indices = m.get("template_indices")
    if isinstance(indices, dict):  # per dataset, as the reference configs choose them
        if dataset not in indices:
            raise ConfigError(f"template_indices has no entry for dataset {dataset!r}; add one (a list of indices)")
        indices = indices[dataset]
    if indices is not None:
        bad = [i for i in indices if not 0 <= i < len(templates)]
        if bad:
            raise ConfigError(f"template_indices {bad} are outside 0..{len(templates) - 1}")
        templates = [templates[i] for i in indices]
    if m["kind"] == "clsprompt":
        templates = []  # read at the start token, no template
    verbalizer = m.get("verbalizer", data["verbalizer"])
    return {"templates": templates, "verbalizer": [list(map(str, ws)) for ws in verbalizer]}


def task_of(config: dict[str, Any], dataset: str) -> Task:
    """The task of a dataset of a checked config (a preset or its inline declaration)."""
    return from_config(dataset, config["datasets"][dataset]["task"])


# ---------------------------------------------------------------- order
# Datasets, methods, attacks and backbones are named entries of the config's mappings. Their
# order in tables, figures and every spec is derived from what they are, never from the
# order of the keys in the YAML file, so re-saving a config with its keys sorted (or moved)
# plans nothing: the paper's order (its tasks, the method kinds clean then +adv, the
# recipes), then names alphabetically.


def _rank(known: tuple[str, ...], value: Any) -> int:
    return known.index(value) if isinstance(value, str) and value in known else len(known)


def ordered_datasets(config: dict[str, Any]) -> list[str]:
    """Every dataset: the paper's tasks in its order (SST-2, AG News, BoolQ), then by name."""
    return sorted(config["datasets"], key=lambda d: (_rank(TASK_NAMES, config["datasets"][d]["task"]), d))


def ordered_methods(config: dict[str, Any]) -> list[str]:
    """Every method: clean before adversarially trained, then by kind in the paper's order
    (MLP-FT, ProjectCLS, LPFT, CLSPrompt, MVP; your own kinds after), then by name."""
    methods = config["methods"]
    return sorted(methods, key=lambda m: (bool(methods[m].get("adv")), _rank(METHOD_KINDS, methods[m]["kind"]), m))


def ordered_attacks(config: dict[str, Any]) -> list[str]:
    """Every attack: by recipe in the registry's order (TextFooler, TextBugger, ...), then by name."""
    attacks = config["attacks"]
    return sorted(attacks, key=lambda a: (_rank(RECIPES, attacks[a]["recipe"]), a))


def ordered_backbones(config: dict[str, Any]) -> list[str]:
    return sorted(config["backbones"])


def trained_datasets(config: dict[str, Any]) -> list[str]:
    """Datasets models are trained on (all but the ``evaluate_only`` ones), in table order."""
    return [d for d in ordered_datasets(config) if not config["datasets"][d].get("evaluate_only")]


def in_table_order(config: dict[str, Any], datasets: list[str]) -> list[str]:
    """A set of datasets (a corpus: what a backbone's tokenizer or adaptation reads) in table
    order, once each: the same corpus whatever order the config lists it in."""
    order = ordered_datasets(config)
    return sorted(set(datasets), key=order.index)


def evaluation_targets(config: dict[str, Any], dataset: str) -> list[tuple[str, list[int] | None]]:
    """The ``evaluate_on`` datasets of ``dataset``, each with its class map.

    The class map lists, per class id of the target, the class id of the trained model it
    counts as (``None``: the same classes in the same order). Classes are matched by name
    when both tasks name the same classes, else by ``label_map`` (target class name or id
    -> this dataset's class name or id), which must then cover every target class.
    """
    source = task_of(config, dataset)
    targets = []
    for entry in config["datasets"][dataset].get("evaluate_on", []):
        name, label_map = (entry, None) if isinstance(entry, str) else (entry["dataset"], entry.get("label_map"))
        where = f"datasets.{dataset}.evaluate_on.{name}"
        if name not in config["datasets"]:
            raise ConfigError(f"{where}: {name!r} is not defined in datasets (an evaluate_only entry)")
        if name == dataset:
            raise ConfigError(f"{where}: a dataset is always evaluated on itself; list only other datasets")
        target = task_of(config, name)
        if len(target.text_columns) != len(source.text_columns):
            raise ConfigError(
                f"{where}: {name} has {len(target.text_columns)} text columns, {dataset} has "
                f"{len(source.text_columns)}; a model reads the same number of columns it was trained on"
            )
        if label_map is None:
            if target.label_names == source.label_names:
                targets.append((name, None))
                continue
            if sorted(target.label_names) != sorted(source.label_names):
                raise ConfigError(
                    f"{where}: classes {list(target.label_names)} differ from {dataset}'s "
                    f"{list(source.label_names)}; add a label_map ({name} class -> {dataset} class)"
                )
            label_map = {n: n for n in target.label_names}
        targets.append((name, _class_map(label_map, target, source, where)))
    return targets


def _class_map(label_map: dict[Any, Any], target: Task, source: Task, where: str) -> list[int]:
    """Per target class id, the model's class id, from a map of class names or ids."""

    def class_id(value: Any, task: Task) -> int:
        names = list(task.label_names)
        value = label_key(value) if isinstance(value, bool) else value  # YAML reads `true:` as a bool
        if isinstance(value, str) and value in names:
            return names.index(value)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and 0 <= value < len(names):
            return value
        raise ConfigError(f"{where}.label_map: {value!r} is not a class of {task.name} (classes {names}, or ids 0..{len(names) - 1})")

    mapping = {class_id(k, target): class_id(v, source) for k, v in label_map.items()}
    missing = [target.label_names[i] for i in range(target.num_labels) if i not in mapping]
    if missing:
        raise ConfigError(f"{where}.label_map: no class of {source.name} given for {target.name}'s classes {missing}")
    return [mapping[i] for i in range(target.num_labels)]


# The paper's headline claims: MVP vs MLP-FT, MVP vs adversarially trained MLP-FT, MVP+adv vs
# MVP. Used when the config names no comparisons; pairs whose methods are absent are skipped.
PAPER_COMPARISONS = (("mvp", "mlp_ft"), ("mvp", "mlp_ft_adv"), ("mvp_adv", "mvp"))


def comparison_pairs(report_cfg: dict[str, Any], methods: list[str]) -> list[tuple[str, str]]:
    """The (method, baseline) pairs to compare: the config's, else the paper's that apply."""
    configured = report_cfg.get("comparisons")
    if configured is None:
        return [(m, b) for m, b in PAPER_COMPARISONS if m in methods and b in methods]
    pairs = []
    for i, item in enumerate(configured):
        for role in ("method", "baseline"):
            if item[role] not in methods:
                raise ValueError(
                    f"report.comparisons[{i}].{role} is {item[role]!r}, which is not a method of this "
                    f"config; use one of {methods} or remove the comparison"
                )
        pairs.append((item["method"], item["baseline"]))
    return pairs


def local_settings(source: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A source's settings with its local ``path`` taken out (it becomes a rule input)."""
    if "path" not in source:
        return dict(source), None
    settings = {k: v for k, v in source.items() if k != "path"}
    settings["local"] = True
    return settings, str(source["path"])


def attack_resource_paths(config: dict[str, Any]) -> dict[str, str]:
    """The local files and folders the attack resources are built from, keyed for the CLI."""
    res = config["attack_resources"]
    paths = {}
    for name, emb in res["embeddings"].items():
        _, path = local_settings(emb["source"])
        if path:
            paths[f"embedding_{name}"] = path
    if isinstance(res["nltk"], dict) and "path" in res["nltk"]:
        paths["nltk"] = res["nltk"]["path"]
    if "masked_lm" in res:
        _, path = local_settings(res["masked_lm"]["source"])
        if path:
            paths["masked_lm"] = path
    return paths


def variant_name(config: dict[str, Any], method: str, epsilon: float) -> str:
    """The run name of ``method`` at another adversarial budget (``mlp_ft_adv-eps0.03``);
    the method's own name at its configured epsilon, so that run is shared."""
    if float(epsilon) == float(config["methods"][method]["adv"]["epsilon"]):
        return method
    return f"{method}-eps{float(epsilon):g}"


def sweep_variants(config: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Every sweep variant's name -> (its configured method, its epsilon)."""
    sweep = config.get("adv_sweep")
    if not sweep:
        return {}
    out = {}
    for method in sweep["methods"]:
        for epsilon in sweep["epsilons"]:
            name = variant_name(config, method, epsilon)
            if name != method:
                out[name] = (method, float(epsilon))
    return out


def clean_counterpart(config: dict[str, Any], method: str) -> str | None:
    """The epsilon-0 reference of a +adv method: the first method (in table order) without
    ``adv`` whose settings are the same apart from ``training`` overrides (e.g. ``mvp`` for
    ``mvp_adv``, which may train longer or with larger batches)."""

    def settings(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in ("adv", "training")}

    for name in ordered_methods(config):
        other = config["methods"][name]
        if "adv" not in other and settings(other) == settings(config["methods"][method]):
            return name
    return None
