"""The pipeline's stages, each declared once.

A stage has one name. It is the Snakemake rule's name, the CLI sub-command (with ``-`` for
``_``: ``merge_attack`` -> ``mvprepro merge-attack``), the name of the module that runs it
and of the function in it (``mvprepro.<group>.<name>.<name>``), and the key of the job's
spec and code digest (:class:`mvprepro.plan.Plan` has a method of the same name). The group
is the rule file the rule is in (``workflow/rules/<group>.smk``) and the package the module
is in (``src/mvprepro/<group>/``), so a rule and its code are one hop apart. Everything that
used to be listed by hand in several places is derived from :data:`STAGES`:

- the CLI (:mod:`mvprepro.cli`): one sub-command per stage, one option per file the
  function reads or writes, dispatched to the function with keyword arguments;
- the code digest of each job (:func:`code_module`): the import closure of the stage's
  module (:mod:`mvprepro.digest`); a stage module imports helpers only, never another
  stage's module, so editing a stage reruns its own jobs and their consumers (a test checks);
- which stages may take a GPU (:func:`gpu_stages`; ``profiles/slurm`` sends their rules to
  the GPU partition, which a test checks) and which may use the network
  (:func:`online_commands`; every other command runs with the Hugging Face libraries
  offline);
- which ``resources:`` block of the config sizes the stage's jobs;
- the workflow's default targets: the files of every stage with ``final`` outputs
  (:meth:`mvprepro.plan.Plan.targets`, from the output patterns in :mod:`mvprepro.plan.layout`).

Adding a stage: one entry here, its module with its function (``spec`` plus one keyword
argument per file option), its ``Plan`` method, its output patterns in the layout, its rule;
CONTRIBUTING.md lists them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline.

    ``files`` are the files the job must be given (``--name PATH``), ``many`` those given as
    lists (``--name PATH ...``, possibly empty), ``optional`` those it may be given. The
    function takes ``spec`` and one keyword argument per file option (``-`` read as ``_``).
    """

    name: str
    group: str  # the rule file (workflow/rules/<group>.smk) and package (mvprepro.<group>)
    help: str
    files: tuple[str, ...] = ()
    many: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    gpu: bool = False  # may run on a GPU (one device per job; the cluster's GPU partition)
    network: bool = False  # may use the network (downloads, in local rules only)
    resources: str | None = None  # the config's resources.<key> block sizing its jobs
    final: bool = False  # its outputs are the workflow's default targets (where the config has its jobs)

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    @property
    def module(self) -> str:
        """The module that runs the stage: named after it, in its group's package."""
        return f"mvprepro.{self.group}.{self.name}"

    @property
    def rule_file(self) -> str:
        return f"workflow/rules/{self.group}.smk"

    @property
    def options(self) -> tuple[str, ...]:
        return self.files + self.many + self.optional

    def function(self) -> Callable[..., Any]:
        """The function that runs the stage (imported on call: stages import heavy libraries)."""
        return getattr(importlib.import_module(self.module), self.name)


_DECLARED = (
    # downloads: the only stages that may use the network
    Stage("download_dataset", "download", "fetch a dataset (hub, local path, package or builder) into resources/", ("out",), optional=("local",), network=True),
    Stage("download_backbone", "download", "fetch a backbone (tokenizer + LM weights)", ("out",), many=("corpus",), optional=("local",), network=True),
    Stage(
        "download_attack_resources",
        "download",
        "fetch embeddings, NLTK data, sentence encoders (--local KEY=PATH for each local source)",
        ("manifest",),
        many=("local",),
        network=True,
    ),
    # data
    Stage("prepare", "data", "apply the task's split protocol", ("raw", "out")),
    Stage("tokenize", "data", "encode the splits for a backbone", ("data", "backbone", "out")),
    # models
    Stage("adapt_backbone", "train", "continue masked-LM training of a backbone on training texts", ("backbone", "out"), many=("data",), gpu=True, resources="adapt"),
    Stage("check_prompts", "train", "check a prompt method's templates and label words on the backbone", ("backbone", "out")),
    Stage(
        "train",
        "train",
        "fine-tune one method with one seed",
        ("tokenized", "backbone", "model-out", "metrics-out"),
        optional=("prompt-check",),
        gpu=True,
        resources="train",
    ),
    Stage("evaluate", "train", "clean accuracy on the test split", ("model", "tokenized", "out"), gpu=True, resources="evaluate"),
    # attacks
    Stage("attack", "attack", "attack one shard of the test examples", ("model", "data", "manifest", "out", "constraints-out"), gpu=True, resources="attack"),
    Stage("merge_attack", "attack", "merge attack shards into metrics", ("summary-out", "records-out"), many=("shards", "constraints")),
    # tables and figures
    Stage("aggregate", "aggregate", "build the results tables", ("csv", "md", "tex", "html", "runs"), many=("clean", "attacks", "ood-clean", "ood-attacks"), final=True),
    Stage("costs", "aggregate", "per-job wall time and memory from benchmark files", ("out",), many=("benchmarks",), final=True),
    Stage(
        "inputs",
        "aggregate",
        "the table of every input (source, resolved revision or hash, content digest, size) and the code version",
        ("manifest", "csv", "md", "html"),
        many=("datasets", "backbones", "adapted"),
        final=True,
    ),
    Stage(
        "compare",
        "report",
        "paired comparisons between methods, and ours beside published numbers",
        ("runs", "comparisons-csv", "comparisons-md", "comparisons-html", "published-csv", "published-md", "published-html"),
        optional=("published",),
        final=True,
    ),
    Stage("plots", "report", "accuracy and attack-success figures (PNG)", ("runs", "accuracy", "success"), final=True),
    Stage("training_curves", "report", "training curves of one dataset's runs (PNG)", ("out",), many=("metrics",), final=True),
    Stage("effective_robustness", "report", "in- vs out-of-distribution accuracy: effective robustness (CSV, PNG)", ("runs", "figure", "table"), final=True),
    Stage("adversarial_examples", "report", "successful adversarial examples of one dataset (HTML)", ("out",), many=("records",), final=True),
    Stage("sample_efficiency", "report", "accuracy against training-set size of one dataset (PNG, CSV, MD, HTML)", ("runs", "figure", "csv", "md", "html"), many=("metrics",), final=True),
    Stage("query_budget", "report", "robust accuracy against the attack's query budget (PNG, CSV, MD)", ("figure", "csv", "md"), many=("clean", "attacks"), final=True),
    Stage("adv_sweep", "report", "accuracy against the adversarial budget (PNG, CSV, MD)", ("figure", "csv", "md"), many=("metrics", "clean", "attacks"), final=True),
)

STAGES: dict[str, Stage] = {s.name: s for s in _DECLARED}
BY_COMMAND: dict[str, Stage] = {s.command: s for s in _DECLARED}


def code_module(stage: str) -> str:
    """The module whose import closure is ``stage``'s code digest."""
    return STAGES[stage].module


def final_stages() -> list[str]:
    """The stages whose outputs are the workflow's default targets, in declaration order."""
    return [s.name for s in _DECLARED if s.final]


def gpu_stages() -> set[str]:
    return {s.name for s in _DECLARED if s.gpu}


def online_commands() -> set[str]:
    return {s.command for s in _DECLARED if s.network}
