"""The pipeline's stages, each declared once.

A stage has one name. It is the Snakemake rule's name, the CLI sub-command (with ``-`` for
``_``: ``merge_attack`` -> ``mvprepro merge-attack``), the name of the function that runs it
(``<module>.<name>``), and the key of the job's spec and code digest
(:class:`mvprepro.config.Plan` has a method of the same name). Everything that used to be
listed by hand in several places is derived from :data:`STAGES`:

- the CLI (:mod:`mvprepro.cli`): one sub-command per stage, one option per file the
  function reads or writes, dispatched to the function with keyword arguments;
- the code digest of each job (:func:`code_module`): the import closure of the stage's
  module (:mod:`mvprepro.digest`);
- which stages may take a GPU (:func:`gpu_stages`; ``profiles/slurm`` sends their rules to
  the GPU partition, which a test checks) and which may use the network
  (:func:`online_commands`; every other command runs with the Hugging Face libraries
  offline);
- which ``resources:`` block of the config sizes the stage's jobs.

Adding a stage: one entry here, its function (``spec`` plus one keyword argument per file
option), its ``Plan`` method, its rule; a caption if it makes a figure for the report.
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
    module: str
    help: str
    files: tuple[str, ...] = ()
    many: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    gpu: bool = False  # may run on a GPU (one device per job; the cluster's GPU partition)
    network: bool = False  # may use the network (downloads, in local rules only)
    resources: str | None = None  # the config's resources.<key> block sizing its jobs

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    @property
    def options(self) -> tuple[str, ...]:
        return self.files + self.many + self.optional

    def function(self) -> Callable[..., Any]:
        """The function that runs the stage (imported on call: stages import heavy libraries)."""
        return getattr(importlib.import_module(self.module), self.name)


_DECLARED = (
    # downloads: the only stages that may use the network
    Stage("download_dataset", "mvprepro.download.datasets", "fetch a dataset (hub, local path, package or builder) into resources/", ("out",), optional=("local",), network=True),
    Stage("download_backbone", "mvprepro.download.backbones", "fetch a backbone (tokenizer + LM weights)", ("out",), many=("corpus",), optional=("local",), network=True),
    Stage(
        "download_attack_resources",
        "mvprepro.download.attack_resources",
        "fetch embeddings, NLTK data, sentence encoders (--local KEY=PATH for each local source)",
        ("manifest",),
        many=("local",),
        network=True,
    ),
    # data
    Stage("prepare", "mvprepro.data.prepare", "apply the task's split protocol", ("raw", "out")),
    Stage("tokenize", "mvprepro.data.tokenize", "encode the splits for a backbone", ("data", "backbone", "out")),
    # models
    Stage("adapt_backbone", "mvprepro.train.adapt", "continue masked-LM training of a backbone on training texts", ("backbone", "out"), many=("data",), gpu=True, resources="adapt"),
    Stage("check_prompts", "mvprepro.train.check", "check a prompt method's templates and label words on the backbone", ("backbone", "out")),
    Stage(
        "train",
        "mvprepro.train.finetune",
        "fine-tune one method with one seed",
        ("tokenized", "backbone", "model-out", "metrics-out"),
        optional=("prompt-check",),
        gpu=True,
        resources="train",
    ),
    Stage("evaluate", "mvprepro.train.evaluate", "clean accuracy on the test split", ("model", "tokenized", "out"), gpu=True, resources="evaluate"),
    # attacks
    Stage("attack", "mvprepro.attack.run", "attack one shard of the test examples", ("model", "data", "manifest", "out", "constraints-out"), gpu=True, resources="attack"),
    Stage("merge_attack", "mvprepro.attack.merge", "merge attack shards into metrics", ("summary-out", "records-out"), many=("shards", "constraints")),
    # tables and figures
    Stage("aggregate", "mvprepro.aggregate.tables", "build the results tables", ("csv", "md", "tex", "html", "runs"), many=("clean", "attacks", "ood-clean", "ood-attacks")),
    Stage("costs", "mvprepro.aggregate.costs", "per-job wall time and memory from benchmark files", ("out",), many=("benchmarks",)),
    Stage(
        "inputs",
        "mvprepro.report.inputs",
        "the table of every input (source, resolved revision or hash, content digest, size) and the code version",
        ("manifest", "csv", "md", "html"),
        many=("datasets", "backbones", "adapted"),
    ),
    Stage(
        "compare",
        "mvprepro.report.compare",
        "paired comparisons between methods, and ours beside published numbers",
        ("runs", "comparisons-csv", "comparisons-md", "comparisons-html", "published-csv", "published-md", "published-html"),
        optional=("published",),
    ),
    Stage("plots", "mvprepro.report.plots", "accuracy and attack-success figures (PNG)", ("runs", "accuracy", "success")),
    Stage("training_curves", "mvprepro.report.plots", "training curves of one dataset's runs (PNG)", ("out",), many=("metrics",)),
    Stage("effective_robustness", "mvprepro.report.ood", "in- vs out-of-distribution accuracy: effective robustness (CSV, PNG)", ("runs", "figure", "table")),
    Stage("adversarial_examples", "mvprepro.report.examples", "successful adversarial examples of one dataset (HTML)", ("out",), many=("records",)),
    Stage("sample_efficiency", "mvprepro.report.efficiency", "accuracy against training-set size of one dataset (PNG, CSV, MD, HTML)", ("runs", "figure", "csv", "md", "html"), many=("metrics",)),
    Stage("query_budget", "mvprepro.report.query_budget", "robust accuracy against the attack's query budget (PNG, CSV, MD)", ("figure", "csv", "md"), many=("clean", "attacks")),
    Stage("adv_sweep", "mvprepro.report.adv_sweep", "accuracy against the adversarial budget (PNG, CSV, MD)", ("figure", "csv", "md"), many=("metrics", "clean", "attacks")),
)

STAGES: dict[str, Stage] = {s.name: s for s in _DECLARED}
BY_COMMAND: dict[str, Stage] = {s.command: s for s in _DECLARED}


def code_module(stage: str) -> str:
    """The module whose import closure is ``stage``'s code digest."""
    return STAGES[stage].module


def gpu_stages() -> set[str]:
    return {s.name for s in _DECLARED if s.gpu}


def online_commands() -> set[str]:
    return {s.command for s in _DECLARED if s.network}
