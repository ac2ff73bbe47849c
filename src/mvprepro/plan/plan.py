"""What each job is given: its settings (the spec) and a digest of what it was built from.

Every rule passes ``Plan(config).<rule>(...)`` to its command as ``--spec`` and records it
as the job's only ``params``. A spec holds settings only (no file paths: those travel as
the rule's ``input:``/``output:`` on the command line) plus one ``provenance`` digest of

- the code the job runs: the import closure of its entry module (:func:`mvprepro.stages.code_module`,
  :func:`mvprepro.digest.code_digest`), so editing any module it can import reruns it;
- the specs of the jobs that made its inputs, recursively, so a change anywhere upstream
  changes the params of every job downstream of it;
- for local sources (``path:`` datasets, backbones, embeddings, NLTK folders), the files'
  names, sizes and modification times.

Why the chain: Snakemake does not rerun a producer whose output was deleted (a job started,
then killed) while its consumers look up to date. Because every consumer's params change
together with its producers', the consumers themselves are due, and they pull the
producers back in. No interruption can leave a result that the config no longer describes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ..data.subsets import FULL, parse_label, size_label
from .. import plugins
from ..digest import code_digest, digest_of, source_fingerprint
from ..download.sources import BUILDERS
from ..stages import code_module
from . import layout
from ..stages import final_stages
from .locks import PINS, drop_satisfied_attack_pins, read_record, without_satisfied_pins
from .readers import (
    attack_resource_paths,
    clean_counterpart,
    comparison_pairs,
    evaluation_targets,
    in_table_order,
    local_settings,
    ordered_attacks,
    ordered_backbones,
    ordered_datasets,
    ordered_methods,
    prompts_for,
    reads_label_words,
    sweep_variants,
    task_of,
    trained_datasets,
    variant_name,
)

# What names one run: a model trained on a dataset (at one training-set size, ``full`` unless
# the config sets train_sizes) from a backbone, with a method and a seed.
RUN_KEYS = ("dataset", "size", "backbone", "method", "seed")

# Training settings a train job depends on (a method's ``training:`` overrides them).
TRAINING_KEYS = (
    "lr",
    "batch_size",
    "grad_accumulation",
    "group_by_length",
    "max_epochs",
    "weight_decay",
    "patience",
    "eval_every_steps",
    "scale_eval_with_templates",
    "max_grad_norm",
    "precision",
    "max_length",
    "prompt_reserve",
    "max_eval_examples",
    "degenerate_share",
    "device",
)


class Plan:
    """The specs of every job of one validated config (methods memoised: a plan is per run)."""

    def __init__(self, config: dict[str, Any], code_version: str = "unknown") -> None:
        self.config = config
        # The code the results are made with (a git commit, or the package version): the
        # inputs table names it (mvprepro.plan.version).
        self.code_version = code_version
        # Datasets models train on; ``all_datasets`` adds the evaluate_only ones. Every name
        # list is in table order (mvprepro.plan.readers), whatever the order of the config's keys.
        self.datasets = trained_datasets(config)
        self.all_datasets = ordered_datasets(config)
        self.backbones = ordered_backbones(config)
        self.methods = ordered_methods(config)
        self.seeds = [int(s) for s in config["seeds"]]
        self.attacks = ordered_attacks(config)
        # The adversarial-budget sweep's extra methods: name -> (configured method, epsilon).
        self.sweep_variants = sweep_variants(config)
        # Every spec this Plan made (as the JSON a rule's params hold) -> the specs of the jobs
        # it names as upstream: what the rules' inputs must be made by (tests/workflow/test_job_graph.py),
        # and -> the stage it is a spec of.
        self.upstream_of: dict[str, list[str]] = {}
        self.stage_of: dict[str, str] = {}

    @staticmethod
    def as_params(spec: dict[str, Any]) -> str:
        """A spec as a rule's ``params.spec`` holds it (``common.smk`` ``spec()``)."""
        return json.dumps(spec, sort_keys=True)

    def _flatten(self, upstream: Any) -> list[dict[str, Any]]:
        if upstream is None:
            return []
        if isinstance(upstream, dict):
            return [upstream]
        return [spec for item in upstream for spec in self._flatten(item)]

    # ------------------------------------------------------------------ helpers
    def _spec(
        self, rule: str, settings: dict[str, Any], upstream: Any, local: Any = None, builds: bool = False, user_code: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A job's settings plus its provenance digest. ``builds``: the job runs one of the
        demo builders, whose code is not in the stage's import closure (they are imported
        by name, :mod:`mvprepro.download.sources`) and joins the digest here instead.
        ``user_code``: config key -> import path of your own code the job runs (a method
        kind, an attack recipe), whose source joins the digest the same way."""
        provenance = {"code": code_digest(code_module(rule)), "upstream": upstream}
        if local is not None:
            provenance["local"] = local
        if builds:
            provenance["builders"] = code_digest(BUILDERS)
        if user_code:
            provenance["user_code"] = {path: plugins.code_digest(path, key) for key, path in sorted(user_code.items())}
        spec = {**settings, "provenance": digest_of(provenance)}
        self.upstream_of[self.as_params(spec)] = sorted({self.as_params(u) for u in self._flatten(upstream)})
        self.stage_of[self.as_params(spec)] = rule
        return spec

    @lru_cache(maxsize=None)
    def task(self, dataset: str) -> dict[str, Any]:
        """A dataset's task definition (a preset's or its inline one), as jobs receive it."""
        return task_of(self.config, dataset).to_spec()

    @lru_cache(maxsize=None)
    def _targets(self, dataset: str) -> dict[str, list[int] | None]:
        return dict(evaluation_targets(self.config, dataset))

    def targets(self, dataset: str) -> list[str]:
        """The datasets every model trained on ``dataset`` is also evaluated on (evaluate_on)."""
        return list(self._targets(dataset))

    def _target_settings(self, dataset: str, target: str | None) -> dict[str, Any]:
        """What an evaluation on another dataset adds to its spec: the target and its class
        map (nothing on the run's own dataset, the default target)."""
        if target in (None, dataset):
            return {}
        return {"target": target, "class_map": self._targets(dataset)[target]}

    def _configured_sizes(self, dataset: str) -> list[Any] | None:
        """A dataset's ``train_sizes`` (its own, else the config's); None where they are just
        the default, the whole training split (``[full]`` written out plans the same as
        nothing written)."""
        sizes = self.config["datasets"][dataset].get("train_sizes", self.config.get("train_sizes"))
        if not sizes or [size_label(z) for z in sizes] == [FULL]:
            return None
        return sizes

    def sizes(self, dataset: str) -> list[str]:
        """A dataset's training-set sizes as labels (``64``, ``0.1``, ``full``); ``[full]``,
        the whole training split, when the config sets no ``train_sizes``."""
        return [size_label(z) for z in self._configured_sizes(dataset) or [FULL]]

    def runs(self) -> list[dict[str, Any]]:
        """Every (dataset, size, backbone, method, seed) of the config, in table order."""
        return [
            {"dataset": d, "size": z, "backbone": b, "method": m, "seed": s}
            for d in self.datasets
            for z in self.sizes(d)
            for b in self.backbones
            for m in self.methods
            for s in self.seeds
        ]

    def evaluations(self, own: bool = True, others: bool = True) -> list[dict[str, Any]]:
        """Every run with each dataset it is tested on (``target``), in table order: its
        own dataset (``own``) and the evaluate_on targets of its dataset (``others``)."""
        return [
            {**r, "target": t}
            for r in self.runs()
            for t in ([r["dataset"]] if own else []) + (self.targets(r["dataset"]) if others else [])
        ]

    @staticmethod
    def key(run: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments naming a run's jobs (its :data:`RUN_KEYS`)."""
        return {k: run[k] for k in RUN_KEYS}

    def row(self, run: dict[str, Any]) -> dict[str, Any]:
        """A run (or evaluation, or job) as the table stages name it in their specs: the size
        only where the config sets train_sizes (the tables gain a size column only then),
        the target only where it is not the run's own dataset."""
        drop = set()
        if not self._configured_sizes(run["dataset"]):
            drop.add("size")
        if run.get("target") == run["dataset"]:
            drop.add("target")
        return {k: v for k, v in run.items() if k not in drop}

    def files(self, runs: list[dict[str, Any]], *names: str, attacks: list[str] | None = None) -> list[str]:
        """The paths of ``names`` for each run or evaluation, run-major: ``metrics`` (of the
        run) or ``clean``/``attacks``/``records`` (of the evaluation; ``attacks``, by default
        the config's, name the attack files)."""
        files = []
        for run in runs:
            for name in names:
                if name == "metrics":
                    files.append(layout.METRICS.format(**run))
                else:
                    files += layout.evaluation_files([run], self.attacks if attacks is None else attacks, name)
        return files

    def shards(self, attack: str) -> int:
        return int(self.config["attacks"][attack]["shards"])

    def method_config(self, method: str) -> dict[str, Any]:
        """A method's config entry; a sweep variant is its method with another epsilon."""
        if method in self.sweep_variants:
            base, epsilon = self.sweep_variants[method]
            entry = self.config["methods"][base]
            return {**entry, "adv": {**entry["adv"], "epsilon": epsilon}}
        return self.config["methods"][method]

    def uses_prompts(self, method: str) -> bool:
        return reads_label_words(self.method_config(method), method)

    # ------------------------------------------------------------------ the budget sweep
    def sweep_points(self) -> list[dict[str, Any]]:
        """The runs of the adversarial-budget figure, one per (dataset, method, epsilon,
        seed): each swept method at each epsilon (its own run where the epsilon is its
        configured one, else a sweep variant), and its clean counterpart at epsilon 0."""
        sweep = self.config.get("adv_sweep")
        if not sweep:
            return []
        points = []
        for dataset in sweep.get("datasets") or self.datasets:
            size = self.sizes(dataset)[-1]  # the largest (configured last)
            for backbone in self.backbones:
                for base in sweep["methods"]:
                    entry = self.config["methods"][base]
                    clean = clean_counterpart(self.config, base)
                    names = ([(clean, 0.0)] if clean else []) + [(variant_name(self.config, base, e), float(e)) for e in sweep["epsilons"]]
                    for method, epsilon in names:
                        for seed in sweep.get("seeds") or self.seeds[:1]:
                            run = {"dataset": dataset, "size": size, "backbone": backbone, "method": method, "seed": int(seed), "target": dataset}
                            points.append({**run, "swept": base, "epsilon": epsilon, "epsilon_unit": entry["adv"]["epsilon_unit"]})
        return points

    def sweep_runs(self) -> list[dict[str, Any]]:
        """The sweep's runs that the main grid does not already have (its variants)."""
        seen, runs = set(), []
        for point in self.sweep_points():
            run = self.key(point)
            if point["method"] in self.sweep_variants and tuple(run.items()) not in seen:
                seen.add(tuple(run.items()))
                runs.append(run)
        return runs

    def sweep_attacks(self) -> list[str]:
        sweep = self.config.get("adv_sweep") or {}
        return list(sweep.get("attacks") or self.attacks)

    @lru_cache(maxsize=None)
    def adv_sweep(self) -> dict[str, Any]:
        points = self.sweep_points()
        upstream = []
        for point in points:
            key = self.key(point)
            upstream.append([self.train(**key), self.evaluate(**key), [self.merge_attack(**key, attack=a) for a in self.sweep_attacks()]])
        settings = {"points": [self.row(p) for p in points], "attacks": self.sweep_attacks(), "datasets": self.datasets}
        return self._spec("adv_sweep", settings, upstream)

    def backbone_corpus(self, backbone: str) -> list[str]:
        """Datasets whose text a backbone builder trains its tokenizer on (none for hub/path):
        by default the datasets models train on, so that adding an evaluate_only target
        never rebuilds the backbone (its words are as new to it as to a pretrained one)."""
        source = self.config["backbones"][backbone]["source"]
        if "builder" not in source:
            return []
        return in_table_order(self.config, source.get("corpus_datasets", self.datasets))

    # ------------------------------------------------------------------ download
    @lru_cache(maxsize=None)
    def download_dataset(self, dataset: str) -> dict[str, Any]:
        settings, path = local_settings(self.config["datasets"][dataset]["source"])
        local = source_fingerprint(path) if path else None
        record = read_record(f"{layout.DATASET_DOWNLOAD.format(dataset=dataset)}/source.json") or {}
        settings = without_satisfied_pins(settings, record.get("source"), record.get("resolved"), local)
        return self._spec("download_dataset", {"name": dataset, "source": settings}, None, local, builds="builder" in settings)

    @lru_cache(maxsize=None)
    def download_backbone(self, backbone: str) -> dict[str, Any]:
        settings, path = local_settings(self.config["backbones"][backbone]["source"])
        settings.pop("corpus_datasets", None)
        local = source_fingerprint(path) if path else None
        record = read_record(f"{layout.BACKBONE_DOWNLOAD.format(backbone=backbone)}/source.json") or {}
        settings = without_satisfied_pins(settings, record.get("source"), record.get("resolved"), local)
        corpus = [self.download_dataset(d) for d in self.backbone_corpus(backbone)]
        return self._spec("download_backbone", {"name": backbone, "source": settings}, corpus, local, builds="builder" in settings)

    def adapt_corpus(self, backbone: str) -> list[str]:
        """Datasets whose training texts a backbone's masked-LM adaptation reads (none
        without ``adapt``): its ``datasets``, by default the datasets models train on."""
        adapt = self.config["backbones"][backbone].get("adapt")
        if not adapt:
            return []
        return in_table_order(self.config, adapt.get("datasets") or self.datasets)

    @lru_cache(maxsize=None)
    def adapt_backbone(self, backbone: str) -> dict[str, Any]:
        adapt = {k: v for k, v in self.config["backbones"][backbone]["adapt"].items() if k != "datasets"}
        upstream = [self.download_backbone(backbone), *(self.prepare(d) for d in self.adapt_corpus(backbone))]
        t = self.config["training"]
        settings = {"name": backbone, "adapt": adapt, "datasets": self.adapt_corpus(backbone), "device": t["device"], "precision": t["precision"]}
        return self._spec("adapt_backbone", settings, upstream)

    def backbone(self, backbone: str) -> dict[str, Any]:
        """The spec of the backbone every method starts from: adapted when ``adapt`` is set."""
        if self.config["backbones"][backbone].get("adapt"):
            return self.adapt_backbone(backbone)
        return self.download_backbone(backbone)

    @lru_cache(maxsize=None)
    def download_attack_resources(self) -> dict[str, Any]:
        res = self.config["attack_resources"]
        settings: dict[str, Any] = {
            "embeddings": {n: {**e, "source": local_settings(e["source"])[0]} for n, e in res["embeddings"].items()},
            "nltk": local_settings(res["nltk"])[0] if isinstance(res["nltk"], dict) and "path" in res["nltk"] else res["nltk"],
            "sentence_encoder": res["sentence_encoder"],
        }
        if "masked_lm" in res:
            settings["masked_lm"] = {"source": local_settings(res["masked_lm"]["source"])[0]}
        local = {key: source_fingerprint(path) for key, path in attack_resource_paths(self.config).items()}
        drop_satisfied_attack_pins(settings, local)
        sources = [e["source"] for e in settings["embeddings"].values()] + ([settings["masked_lm"]["source"]] if "masked_lm" in settings else [])
        builds = any("builder" in source for source in sources)
        return self._spec("download_attack_resources", settings, None, local or None, builds=builds)

    # ------------------------------------------------------------------ data
    @lru_cache(maxsize=None)
    def prepare(self, dataset: str) -> dict[str, Any]:
        ds = self.config["datasets"][dataset]
        settings = {"dataset": dataset, "task": self.task(dataset), "protocol": ds["protocol"]}
        if ds["evaluate_only"]:
            settings["evaluate_only"] = True  # the test split alone
        return self._spec("prepare", settings, self.download_dataset(dataset))

    @lru_cache(maxsize=None)
    def tokenize(self, dataset: str, backbone: str) -> dict[str, Any]:
        t = self.config["training"]
        settings = {
            "dataset": dataset,
            "backbone": backbone,
            "task": self.task(dataset),
            "max_length": t["max_length"],
            "prompt_reserve": t["prompt_reserve"],
        }
        return self._spec("tokenize", settings, [self.prepare(dataset), self.backbone(backbone)])

    # ------------------------------------------------------------------ train
    @lru_cache(maxsize=None)
    def method(self, dataset: str, backbone: str, method: str) -> dict[str, Any]:
        """A method's resolved settings on a dataset and backbone: prompts read from their files."""
        m = dict(self.method_config(method))
        for key in ("prompts", "template_indices", "training"):
            m.pop(key, None)
        spec = {"name": method, **m}
        if reads_label_words(m, method):
            spec.update(prompts_for(self.config, dataset, self.sweep_variants.get(method, (method,))[0], backbone))
        return spec

    @lru_cache(maxsize=None)
    def check_prompts(self, dataset: str, backbone: str, method: str) -> dict[str, Any]:
        t = self.config["training"]
        settings = {
            "dataset": dataset,
            "backbone": backbone,
            "method": self.method(dataset, backbone, method),
            "max_length": t["max_length"],
        }
        return self._spec("check_prompts", settings, self.backbone(backbone))

    def training(self, method: str) -> dict[str, Any]:
        training = {k: self.config["training"][k] for k in TRAINING_KEYS}
        training.update(self.method_config(method).get("training", {}))
        return training

    @lru_cache(maxsize=None)
    def train(self, dataset: str, backbone: str, method: str, seed: int, size: str = FULL) -> dict[str, Any]:
        task = self.task(dataset)
        settings = {
            "dataset": dataset,
            "task": task,
            "num_labels": len(task["label_names"]),
            "backbone": backbone,
            "method": self.method(dataset, backbone, method),
            "seed": int(seed),
            "training": self.training(method),
        }
        if size != FULL:  # a nested, class-balanced subset of the training split
            settings["train_size"] = parse_label(size)
            settings["subset_seed"] = int(self.config["datasets"][dataset]["protocol"]["split_seed"])
        upstream = [self.tokenize(dataset, backbone), self.backbone(backbone)]
        if self.uses_prompts(method):
            upstream.append(self.check_prompts(dataset, backbone, method))
        kind = settings["method"]["kind"]
        user_code = {f"methods.{method}.kind": kind} if plugins.is_import_path(kind) else None
        return self._spec("train", settings, upstream, user_code=user_code)

    @lru_cache(maxsize=None)
    def evaluate(self, dataset: str, backbone: str, method: str, seed: int, target: str | None = None, size: str = FULL) -> dict[str, Any]:
        """Clean accuracy on the test split of ``dataset``, or of an evaluate_on ``target``."""
        t = self.config["training"]
        settings = {
            "batch_size": t["eval_batch_size"],
            "device": t["device"],
            "precision": t["precision"],
            "degenerate_share": t["degenerate_share"],
        }
        settings.update(self._target_settings(dataset, target))
        upstream = [self.train(dataset, backbone, method, seed, size), self.tokenize(target or dataset, backbone)]
        return self._spec("evaluate", settings, upstream)

    # ------------------------------------------------------------------ attack
    @lru_cache(maxsize=None)
    def attack(
        self,
        dataset: str,
        backbone: str,
        method: str,
        seed: int,
        attack: str,
        shard: int,
        target: str | None = None,
        size: str = FULL,
    ) -> dict[str, Any]:
        settings = {
            "attack_name": attack,
            "attack": self.config["attacks"][attack],
            "task": self.task(target or dataset),
            **self._target_settings(dataset, target),
            "shard": int(shard),
            "shards": self.shards(attack),
            "device": self.config["training"]["device"],
            "precision": self.config["training"]["precision"],
        }
        upstream = [
            self.train(dataset, backbone, method, seed, size),
            self.prepare(target or dataset),
            self.download_attack_resources(),
        ]
        recipe = settings["attack"]["recipe"]
        user_code = {f"attacks.{attack}.recipe": recipe} if plugins.is_import_path(recipe) else None
        return self._spec("attack", settings, upstream, user_code=user_code)

    @lru_cache(maxsize=None)
    def merge_attack(
        self, dataset: str, backbone: str, method: str, seed: int, attack: str, target: str | None = None, size: str = FULL
    ) -> dict[str, Any]:
        shards = [self.attack(dataset, backbone, method, seed, attack, i, target, size) for i in range(self.shards(attack))]
        settings: dict[str, Any] = {"attack_name": attack, "shards": self.shards(attack)}
        if self.query_budgets(attack):
            settings["query_budgets"] = self.query_budgets(attack)
        return self._spec("merge_attack", settings, shards)

    def query_budgets(self, attack: str) -> list[int]:
        """The query budgets of ``attack`` (sorted; empty without ``query_budget``)."""
        budget = self.config["attacks"][attack].get("query_budget")
        return sorted({int(b) for b in (budget if isinstance(budget, list) else [budget])}) if budget is not None else []

    def budget_attacks(self) -> list[str]:
        """Attacks with more than one query budget: the query-budget figure's."""
        return [a for a in self.attacks if len(self.query_budgets(a)) > 1]

    @lru_cache(maxsize=None)
    def query_budget(self) -> dict[str, Any]:
        """The figure of robust accuracy against the query budget (every run, its own dataset)."""
        runs, attacks = self.evaluations(others=False), self.budget_attacks()
        upstream = [[self.evaluate(**self.key(r)), [self.merge_attack(**self.key(r), attack=a) for a in attacks]] for r in runs]
        settings = {"runs": [self.row(r) for r in runs], "attacks": attacks, "budgets": {a: self.query_budgets(a) for a in attacks}, "methods": self.methods}
        return self._spec("query_budget", settings, upstream)

    # ------------------------------------------------------------------ aggregate, report
    def _results(self, runs: list[dict[str, Any]], ood: bool = False) -> list[Any]:
        """The specs of each run's evaluation and attack summaries (with ``ood``, also those
        on every evaluate_on target of the run's dataset)."""
        results = []
        for r in runs:
            key = self.key(r)
            for target in [None] + (self.targets(r["dataset"]) if ood else []):
                evaluate = self.evaluate(**key, target=target)
                results.append([evaluate, [self.merge_attack(**key, attack=a, target=target) for a in self.attacks]])
        return results

    @lru_cache(maxsize=None)
    def aggregate(self) -> dict[str, Any]:
        runs = self.runs()
        settings = {
            "runs": [self.row(r) for r in runs],
            "ood_runs": [self.row(e) for e in self.evaluations(own=False)],
            "datasets": self.datasets,
            "targets": {d: self.targets(d) for d in self.datasets},
            "methods": self.methods,
            "attacks": self.attacks,
        }
        if self.has_sizes():
            settings["sizes"] = {d: self.sizes(d) for d in self.datasets}
        return self._spec("aggregate", settings, self._results(runs, ood=True))

    def has_sizes(self) -> bool:
        """Whether the config sets train_sizes for any dataset (the tables gain a size column)."""
        return any(self._configured_sizes(d) for d in self.datasets)

    def sized_datasets(self) -> list[str]:
        """Datasets with two or more training-set sizes (each gets a sample-efficiency figure
        and table: a curve needs two points; one size is just a smaller training set)."""
        return [d for d in self.datasets if len(self.sizes(d)) > 1]

    def benchmark_jobs(self) -> list[dict[str, Any]]:
        """Every adapt_backbone, train and attack job (rule and levels), in the order of
        their benchmark files (:meth:`benchmark_files`)."""
        jobs: list[dict[str, Any]] = [{"rule": "adapt_backbone", "backbone": b} for b in self.backbones if self.adapt_corpus(b)]
        sweep_runs = self.sweep_runs()
        for run in self.runs() + sweep_runs:
            jobs.append({"rule": "train", **run, "attack": "", "shard": ""})
            if run in sweep_runs:  # a sweep variant: its sweep's attacks, on its own dataset
                evaluations = [(run["dataset"], self.sweep_attacks())]
            else:
                evaluations = [(t, self.attacks) for t in [run["dataset"], *self.targets(run["dataset"])]]
            for target, attacks in evaluations:
                for attack in attacks:
                    jobs.extend({"rule": "attack", **run, "target": target, "attack": attack, "shard": i} for i in range(self.shards(attack)))
        return jobs

    def benchmark_files(self) -> list[str]:
        return [layout.benchmark_file(job) for job in self.benchmark_jobs()]

    @lru_cache(maxsize=None)
    def costs(self) -> dict[str, Any]:
        upstream = []
        for job in self.benchmark_jobs():
            if job["rule"] == "adapt_backbone":
                upstream.append(self.adapt_backbone(job["backbone"]))
            elif job["rule"] == "train":
                upstream.append(self.train(**self.key(job)))
            else:
                upstream.append(self.attack(**self.key(job), attack=job["attack"], shard=job["shard"], target=job["target"]))
        jobs = [self.row(job) if job["rule"] != "adapt_backbone" else job for job in self.benchmark_jobs()]
        return self._spec("costs", {"jobs": jobs}, upstream)

    @lru_cache(maxsize=None)
    def inputs(self) -> dict[str, Any]:
        """The inputs table: every materialised input, and the version of the code that made
        the results (a git commit, or the package version)."""
        code_version = self.code_version
        adapted = [b for b in self.backbones if self.config["backbones"][b].get("adapt")]
        res = self.config["attack_resources"]
        # What the config pins now (a lock's revisions and hashes), for the "pinned" column:
        # a lock added to a finished run changes no download's spec (without_satisfied_pins)
        # but it does change this table.
        sources = {f"datasets.{d}": self.config["datasets"][d]["source"] for d in self.all_datasets}
        sources.update({f"backbones.{b}": self.config["backbones"][b]["source"] for b in self.backbones})
        sources.update({f"attack_resources.embeddings.{n}": e["source"] for n, e in res["embeddings"].items()})
        if "masked_lm" in res:
            sources["attack_resources.masked_lm"] = res["masked_lm"]["source"]
        pins = {name: {k: source[k] for k in PINS if k in source} for name, source in sources.items()}
        nltk = local_settings(res["nltk"])[0] if isinstance(res["nltk"], dict) else res["nltk"]  # the manifest records its kind only
        settings = {
            "datasets": self.all_datasets,
            "backbones": self.backbones,
            "adapted": adapted,
            "nltk": nltk,
            "pins": pins,
            "code_version": code_version,
        }
        upstream = [
            [self.download_dataset(d) for d in self.all_datasets],
            [self.download_backbone(b) for b in self.backbones],
            [self.adapt_backbone(b) for b in adapted],
            self.download_attack_resources(),
        ]
        return self._spec("inputs", settings, upstream)

    def comparisons(self) -> list[tuple[str, str]]:
        """The (method, baseline) pairs of the comparison table (``report.comparisons``)."""
        return comparison_pairs(self.config["report"], self.methods)

    def published(self) -> str | None:
        """The published-numbers CSV the comparison sets ours beside (``report.published``)."""
        return self.config["report"].get("published") or None

    @lru_cache(maxsize=None)
    def compare(self) -> dict[str, Any]:
        published = self.published()
        settings = {"comparisons": [list(p) for p in self.comparisons()], "datasets": self.datasets, "attacks": self.attacks}
        local = source_fingerprint(published) if published else None
        return self._spec("compare", settings, self.aggregate(), local)

    @lru_cache(maxsize=None)
    def plots(self) -> dict[str, Any]:
        settings = {"datasets": self.datasets, "methods": self.methods, "attacks": self.attacks}
        return self._spec("plots", settings, self.aggregate())

    @lru_cache(maxsize=None)
    def effective_robustness(self) -> dict[str, Any]:
        settings = {
            "datasets": self.datasets,
            "targets": {d: self.targets(d) for d in self.datasets},
            "methods": self.methods,
            "attacks": self.attacks,
        }
        return self._spec("effective_robustness", settings, self.aggregate())

    def dataset_runs(self, dataset: str) -> list[dict[str, Any]]:
        return [r for r in self.runs() if r["dataset"] == dataset]

    def dataset_evaluations(self, dataset: str) -> list[dict[str, Any]]:
        """The runs of ``dataset`` evaluated on their own test split."""
        return [e for e in self.evaluations(others=False) if e["dataset"] == dataset]

    @lru_cache(maxsize=None)
    def training_curves(self, dataset: str) -> dict[str, Any]:
        runs = self.dataset_runs(dataset)
        upstream = [self.train(**self.key(r)) for r in runs]
        return self._spec("training_curves", {"dataset": dataset, "methods": self.methods, "runs": [self.row(r) for r in runs]}, upstream)

    @lru_cache(maxsize=None)
    def adversarial_examples(self, dataset: str) -> dict[str, Any]:
        runs = self.dataset_runs(dataset)
        settings = {
            "dataset": dataset,
            "task": self.task(dataset),
            "methods": self.methods,
            "attacks": self.attacks,
            "per_method": self.config["report"]["examples_per_method"],
            "runs": [self.row(r) for r in runs],
        }
        # The page reads the attack records only (not the clean evaluations).
        upstream = [[self.merge_attack(**self.key(r), attack=a) for a in self.attacks] for r in runs]
        return self._spec("adversarial_examples", settings, upstream)

    @lru_cache(maxsize=None)
    def sample_efficiency(self, dataset: str) -> dict[str, Any]:
        runs = self.dataset_runs(dataset)
        settings = {
            "dataset": dataset,
            "sizes": self.sizes(dataset),
            "methods": self.methods,
            "attacks": self.attacks,
            "accuracy_targets": self.config["report"]["sample_efficiency_targets"],
            "runs": [self.row(r) for r in runs],
        }
        upstream = [self.aggregate(), [self.train(**self.key(r)) for r in runs]]
        return self._spec("sample_efficiency", settings, upstream)

    # ------------------------------------------------------------------ targets
    def jobs(self, stage: str) -> list[dict[str, str]]:
        """The wildcards of each job of a final stage (:func:`mvprepro.stages.final_stages`);
        none where the config does not call for the stage (no evaluate_on target, no
        adv_sweep, no query budgets, fewer than two training-set sizes)."""
        per_dataset = {
            "training_curves": self.datasets,
            "adversarial_examples": self.datasets,
            "sample_efficiency": self.sized_datasets(),
        }
        if stage in per_dataset:
            return [{"dataset": d} for d in per_dataset[stage]]
        wanted = {
            "effective_robustness": bool(self.evaluations(own=False)),
            "adv_sweep": bool(self.sweep_points()),
            "query_budget": bool(self.budget_attacks()),
        }
        return [{}] if wanted.get(stage, True) else []

    def default_targets(self) -> list[str]:
        """The workflow's default targets: every output of every job of every final stage,
        from the output patterns of :data:`mvprepro.plan.layout.OUTPUTS`."""
        return [
            pattern.format(**job)
            for stage in final_stages()
            for job in self.jobs(stage)
            for pattern in layout.OUTPUTS[stage].values()
        ]
