"""Checks of the workflow's config that a JSON schema cannot express.

The JSON schema (``workflow/schemas/config.schema.yaml``) checks shapes and fills defaults;
:func:`check` adds what a schema cannot say (a template without exactly one ``[MASK]``, a
verbalizer whose class count does not match the task, a local path that does not exist,
more shards than attacked examples), each as one clear message naming the config key.

Checks that need a downloaded tokenizer (label words that must be single tokens) are not
here: they run as the ``check_prompts`` job (:mod:`mvprepro.train.check_prompts`), so a dry
run plans the same jobs whatever is on disk. What each key means is read in :mod:`.readers`;
the per-job settings are made in :mod:`.plan`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..data.tasks import PRESETS, TaskError
from ..names import IMPERCEPTIBLE_RECIPES, METHOD_KINDS, RECIPE_VARIANTS, TEXTATTACK_RECIPES, TEXTATTACK_UNSUPPORTED
from .. import plugins
from ..train.templates import PromptError, parse_template
from .readers import ConfigError, comparison_pairs, evaluation_targets, prompts_for, reads_label_words, sweep_variants, task_of, trained_datasets, user_kind


class _DuplicateKeyLoader(yaml.SafeLoader):
    """A YAML loader that records keys defined twice in one mapping (YAML keeps the last)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                self.duplicates.append(f"{key!r} (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def check_duplicate_keys(path: str | Path) -> None:
    """Two methods (or datasets, attacks...) with one name would silently become one."""
    loader = _DuplicateKeyLoader(Path(path).read_text())
    try:
        loader.get_single_data()
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError(f"{path}: names defined twice: {', '.join(loader.duplicates)}; rename one of each")


def _dataset_errors(config: dict[str, Any]) -> list[str]:
    """Problems of the datasets section: tasks, sources, evaluation targets, prompts."""
    errors: list[str] = []
    tasks = {}
    for name, ds in config["datasets"].items():
        try:
            tasks[name] = task_of(config, name)
        except TaskError as err:
            errors.append(str(err))
        src = ds["source"]
        if "path" in src and not Path(src["path"]).exists():
            errors.append(f"datasets.{name}.source.path: {src['path']!r} does not exist")
        errors += _pin_errors(src, f"datasets.{name}.source")
    if errors:
        return errors
    trained = trained_datasets(config)
    if not trained:
        errors.append("datasets: every dataset is evaluate_only; train on at least one")
    targets = {t for d in trained for t in (e if isinstance(e, str) else e["dataset"] for e in config["datasets"][d].get("evaluate_on", []))}
    for name, ds in config["datasets"].items():
        if ds.get("evaluate_only") and name not in targets:
            errors.append(f"datasets.{name}.evaluate_only: no trained dataset lists {name!r} in evaluate_on; add it there or remove the dataset")
        if ds.get("evaluate_only") and "train_sizes" in ds:
            errors.append(f"datasets.{name}.train_sizes: an evaluate_only dataset is never trained on; remove the key")
        if ds.get("evaluate_on") and ds.get("evaluate_only"):
            errors.append(f"datasets.{name}.evaluate_on: an evaluate_only dataset trains no model to evaluate; remove the key")
            continue
        try:
            evaluation_targets(config, name)
        except ConfigError as err:
            errors.append(str(err))
    for name in trained:
        task = tasks[name]
        for method, m in config["methods"].items():
            if not reads_label_words(m, method):
                continue
            for backbone, bb in config["backbones"].items():
                own = name in (bb.get("prompts") or {})
                where = f"methods.{method} on datasets.{name}" + (f" with backbones.{backbone}" if own else "")
                errors += [e for e in _prompt_errors(config, task, name, method, backbone, where) if e not in errors]
    return errors


def _sweep_errors(config: dict[str, Any]) -> list[str]:
    """Problems of the adversarial-budget sweep (``adv_sweep``)."""
    sweep = config.get("adv_sweep")
    if not sweep:
        return []
    errors = []
    for method in sweep["methods"]:
        if method not in config["methods"]:
            errors.append(f"adv_sweep.methods: {method!r} is not defined in methods")
        elif not config["methods"][method].get("adv"):
            errors.append(f"adv_sweep.methods: {method!r} has no adv section (only adversarially trained methods are swept)")
    for key, known in (("datasets", trained_datasets(config)), ("attacks", list(config["attacks"]))):
        for name in sweep.get(key) or []:
            if name not in known:
                errors.append(f"adv_sweep.{key}: {name!r} is not one of {known}")
    if len(set(map(float, sweep["epsilons"]))) != len(sweep["epsilons"]):
        errors.append("adv_sweep.epsilons: an epsilon is listed twice")
    if not errors:
        for name in sweep_variants(config):
            if name in config["methods"]:
                errors.append(f"adv_sweep: the sweep's run {name!r} has the name of a configured method; rename that method")
    return errors


# What each resource of a TextAttack recipe is, and the config that provides it.
_RESOURCE_KEYS = {
    "paragramcf": "TextAttack's counter-fitted paragram vectors: add attack_resources.embeddings.<name>: {source: {textattack: paragramcf}}",
    "use": "the Universal Sentence Encoder (TF Hub): set attack_resources.sentence_encoder: use",
    "pos_tagger": "NLTK's POS tagger: set attack_resources.nltk to download, a path, or packages with a pos_tagger entry",
    "wordnet": "WordNet: set attack_resources.nltk to download, a path, or packages with a wordnet entry",
}


def _recipe_errors(config: dict[str, Any], name: str, a: dict[str, Any], has_wordnet: bool) -> list[str]:
    """Problems of one attack's recipe: keys that only some recipes take, a TextAttack recipe
    whose resources are not configured, an import path that names nothing."""
    recipe, key = a["recipe"], f"attacks.{name}"
    errors = []
    if "budget" in a and recipe not in IMPERCEPTIBLE_RECIPES:
        errors.append(f"{key}.budget: only {', '.join(IMPERCEPTIBLE_RECIPES)} take a perturbation budget; remove the key")
    if "letters" in a and recipe != "deletion":
        errors.append(f"{key}.letters: only the deletion recipe inserts letters; remove the key")
    if "options" in a and not (recipe.startswith("textattack:") or plugins.is_import_path(recipe)):
        errors.append(f"{key}.options: only your own builders and textattack:<name> recipes take options; remove the key")
    if recipe.startswith("textattack:"):
        short = recipe.split(":", 1)[1]
        if short in TEXTATTACK_UNSUPPORTED:
            errors.append(f"{key}.recipe: TextAttack's {short!r} cannot run here: {TEXTATTACK_UNSUPPORTED[short]}")
        elif short not in TEXTATTACK_RECIPES:
            errors.append(f"{key}.recipe: {recipe!r} is not a TextAttack recipe this pipeline knows; known: {sorted(TEXTATTACK_RECIPES)}")
        else:
            nltk = config["attack_resources"]["nltk"]
            packages = nltk.get("packages", {}) if isinstance(nltk, dict) else {}
            available = {
                "stopwords": True,
                "wordnet": has_wordnet,
                "pos_tagger": nltk == "download" or (isinstance(nltk, dict) and ("path" in nltk or "pos_tagger" in packages)),
                "use": config["attack_resources"]["sentence_encoder"] == "use",
                "paragramcf": any(e["source"].get("textattack") == "paragramcf" for e in config["attack_resources"]["embeddings"].values()),
            }
            for resource in TEXTATTACK_RECIPES[short][1]:
                if not available[resource]:
                    errors.append(f"{key}.recipe: TextAttack's {short!r} loads {_RESOURCE_KEYS[resource]}")
    elif plugins.is_import_path(recipe):
        try:
            plugins.check_defined(recipe, f"{key}.recipe")
        except plugins.PluginError as err:
            errors.append(str(err))
    return errors


def _pin_errors(source: dict[str, Any], what: str) -> list[str]:
    """A pin the source cannot use: a sha256 on a hub or builder source (hub sources are
    pinned by revision, builders by the code), a revision on anything but a hub source."""
    errors = []
    if "sha256" in source and ("hub" in source or "builder" in source):
        errors.append(f"{what}.sha256: only package and path sources are checked by hash; pin a hub source with revision: <commit>, or remove the key")
    if "revision" in source and "hub" not in source:
        errors.append(f"{what}.revision: only hub sources have revisions; remove the key")
    return errors


def check(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` listing every semantic problem of a schema-valid config."""
    errors = _dataset_errors(config)
    for name, m in config["methods"].items():
        if m["kind"] not in METHOD_KINDS and not plugins.is_import_path(m["kind"]):
            errors.append(f"methods.{name}.kind: {m['kind']!r} is not one of {list(METHOD_KINDS)} or an import path (package.module:Class)")
        elif m["kind"] not in METHOD_KINDS:
            try:
                user_kind(m["kind"], f"methods.{name}.kind")
            except plugins.PluginError as err:
                errors.append(str(err))
        elif "options" in m:
            errors.append(f"methods.{name}.options: built-in kinds take no options; remove the key")
        adv = m.get("adv") or {}
        epochs = {**config["training"], **m.get("training", {})}["max_epochs"]
        if adv.get("warmup_epochs", 0) >= epochs:
            errors.append(
                f"methods.{name}.adv.warmup_epochs ({adv['warmup_epochs']}) leaves no adversarial epoch of "
                f"max_epochs {epochs}: lower it, or raise training.max_epochs (or methods.{name}.training.max_epochs)"
            )
        for key in ("prompts", "template_indices"):
            for ds in m.get(key, {}) if isinstance(m.get(key), dict) else ():
                if ds not in config["datasets"]:
                    errors.append(f"methods.{name}.{key}: dataset {ds!r} is not defined in datasets")
    for name, b in config["backbones"].items():
        for ds in b.get("prompts") or {}:
            if ds not in config["datasets"]:
                errors.append(f"backbones.{name}.prompts: dataset {ds!r} is not defined in datasets")
        if "rename" in b["source"]:
            errors.append(f"backbones.{name}.source.rename: only dataset sources rename columns; remove the key")
        errors += _pin_errors(b["source"], f"backbones.{name}.source")
        if "path" in b["source"] and not Path(b["source"]["path"]).exists():
            errors.append(f"backbones.{name}.source.path: {b['source']['path']!r} does not exist")
        for ds in b["source"].get("corpus_datasets", []):
            if ds not in config["datasets"]:
                errors.append(f"backbones.{name}.source.corpus_datasets: dataset {ds!r} is not defined in datasets")
        adapt = b.get("adapt") or {}
        for ds in adapt.get("datasets", []):
            if ds not in trained_datasets(config):
                errors.append(f"backbones.{name}.adapt.datasets: {ds!r} is not a dataset that is trained on (never adapt on evaluation-only text)")
    embeddings = config["attack_resources"]["embeddings"]
    nltk = config["attack_resources"]["nltk"]
    has_wordnet = nltk in ("download",) or (isinstance(nltk, dict) and ("path" in nltk or "wordnet" in nltk.get("packages", {})))
    for name, emb in embeddings.items():
        if "path" in emb["source"] and not Path(emb["source"]["path"]).exists():
            errors.append(f"attack_resources.embeddings.{name}.source.path: {emb['source']['path']!r} does not exist")
        if "counter_fit" in emb and not has_wordnet:
            errors.append(
                f"attack_resources.embeddings.{name}.counter_fit needs WordNet's synonyms and antonyms: set "
                "attack_resources.nltk to download, a path, or packages with a wordnet entry"
            )
    for name, a in config["attacks"].items():
        if a["recipe"] in ("textfooler", "textbugger") and a["embedding"] not in embeddings:
            errors.append(f"attacks.{name}.embedding: {a['embedding']!r} is not defined in attack_resources.embeddings")
        share = a.get("max_words_perturbed")
        if isinstance(share, dict):  # keyed by task, as the paper's limits are per task
            if "default" not in share:
                errors.append(f"attacks.{name}.max_words_perturbed: add a 'default' entry (the share for every other task)")
            inline = [d for d, ds in config["datasets"].items() if not isinstance(ds["task"], str)]
            for key in share:
                if key != "default" and key not in PRESETS and key not in inline:
                    errors.append(
                        f"attacks.{name}.max_words_perturbed: {key!r} is not a task (use a preset of "
                        f"{sorted(PRESETS)}, the name of a dataset with an inline task {inline}, "
                        "or 'default' for all others)"
                    )
        if "variant" in a and a["recipe"] not in RECIPE_VARIANTS:
            errors.append(
                f"attacks.{name}.variant: recipe {a['recipe']!r} has no variants (only "
                f"{', '.join(sorted(RECIPE_VARIANTS))} do); remove the key"
            )
        errors += _recipe_errors(config, name, a, has_wordnet)
        if a["shards"] > a["num_examples"]:
            errors.append(f"attacks.{name}.shards ({a['shards']}) is larger than num_examples ({a['num_examples']})")
    errors += _report_errors(config)
    errors += _sweep_errors(config)
    if config["training"]["prompt_reserve"] >= config["training"]["max_length"]:
        errors.append("training.prompt_reserve must be smaller than training.max_length")
    if errors:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(errors))


def _prompt_errors(config: dict[str, Any], task: Any, dataset: str, method: str, backbone: str, where: str) -> list[str]:
    """Problems of one method's templates and verbalizer on a dataset and backbone."""
    try:
        p = prompts_for(config, dataset, method, backbone)
    except ConfigError as err:
        return [f"{where}: {err}"]
    errors = []
    for t in p["templates"]:
        try:
            parse_template(t)
        except PromptError as err:
            errors.append(f"{where}: {err}")
    if not p["templates"] and config["methods"][method]["kind"] == "mvp":
        errors.append(f"{where}: no templates")
    if len(p["verbalizer"]) != task.num_labels:
        errors.append(
            f"{where}: the verbalizer has {len(p['verbalizer'])} classes but {task.where} has {task.num_labels} "
            f"({', '.join(task.label_names)})"
        )
    for cls, words in enumerate(p["verbalizer"]):
        if not words:
            errors.append(f"{where}: verbalizer class {cls} has no words")
    return errors


def _report_errors(config: dict[str, Any]) -> list[str]:
    """Problems of the ``report`` section: comparison methods, the published-numbers file."""
    from ..report.published import PublishedError, load_published

    report = config.get("report") or {}
    errors = []
    try:
        comparison_pairs(report, list(config["methods"]))
    except ValueError as err:
        errors.append(str(err))
    published = report.get("published")
    if published:
        if not Path(published).is_file():
            errors.append(f"report.published: {published!r} does not exist (a CSV; see config/published.csv)")
        else:
            try:
                load_published(published)
            except PublishedError as err:
                errors.append(f"report.published: {err}")
    return errors
