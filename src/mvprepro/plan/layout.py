"""Where every job's files live: the results layout, written once.

Every stage's outputs are declared here (:data:`OUTPUTS`: the command-line option that takes
the file -> its path pattern, wildcards as the rule's), and its log (:data:`LOGS`). The rules
(``workflow/rules/*.smk``) take their ``output:`` and ``log:`` from here (:func:`output`,
:func:`log`) and their input functions ask :class:`mvprepro.plan.Plan` for the runs, which
turns them into paths with the functions below; the workflow's default targets are the
outputs of the final stages (:meth:`mvprepro.plan.Plan.targets`). ``mvprepro migrate-layout``
moves results written by the previous layout.

Every run has every level: the training-set size (``size-full`` when the config sets no
``train_sizes``) and, for each evaluation, the dataset whose test split it ran on
(``eval-<target>``, the run's own dataset unless ``datasets.<name>.evaluate_on`` adds
others). No level is ever empty, so a path never depends on what else the config sets.
"""

from __future__ import annotations

from typing import Any

# One run: a model trained on a dataset (at a training-set size) from a backbone, with a
# method and a seed. Relative to results/runs/, logs/<rule>/ and results/benchmarks/<rule>/.
JOB = "{dataset}/{backbone}/{method}/size-{size}/seed-{seed}"
RUN = f"results/runs/{JOB}"
# One evaluation of a run: on the test split of ``target`` (the run's own dataset or an
# evaluate_on one).
EVAL = f"{RUN}/eval-{{target}}"

MODEL = f"{RUN}/model"
METRICS = f"{RUN}/metrics.json"
CLEAN = f"{EVAL}/clean.json"
SHARD = f"{EVAL}/attacks/{{attack}}/shard-{{shard}}.jsonl"
SHARD_CONSTRAINTS = f"{EVAL}/attacks/{{attack}}/shard-{{shard}}.constraints.json"
SUMMARY = f"{EVAL}/attacks/{{attack}}.json"
RECORDS = f"{EVAL}/attacks/{{attack}}.records.jsonl"

# Downloads and their derivatives (resources/), prepared data and tokenized splits.
DATASET_DOWNLOAD = "resources/datasets/{dataset}"
BACKBONE_DOWNLOAD = "resources/backbones/{backbone}"
ADAPTED_BACKBONE = "resources/adapted/{backbone}"
ATTACK_MANIFEST = "resources/attack/manifest.json"
PREPARED = "results/data/{dataset}"
TOKENIZED = "results/tokenized/{dataset}/{backbone}"
PROMPT_CHECK = "results/prompts/{dataset}/{backbone}/{method}.json"
# What an evaluation reads of the dataset it is tested on (``target``: the run's own dataset
# or an evaluate_on one): its tokenized splits (clean accuracy) and its prepared text (attacks).
TARGET_TOKENIZED = TOKENIZED.replace("{dataset}", "{target}")
TARGET_PREPARED = PREPARED.replace("{dataset}", "{target}")

# Per-job logs and benchmark files (rule name first, then the job's levels).
TRAIN_LOG = f"logs/train/{JOB}.log"
TRAIN_BENCHMARK = f"results/benchmarks/train/{JOB}.tsv"
EVALUATE_LOG = f"logs/evaluate/{JOB}/eval-{{target}}.log"
ATTACK_LOG = f"logs/attack/{JOB}/eval-{{target}}/{{attack}}-{{shard}}.log"
ATTACK_BENCHMARK = f"results/benchmarks/attack/{JOB}/eval-{{target}}/{{attack}}-{{shard}}.tsv"
MERGE_LOG = f"logs/merge_attack/{JOB}/eval-{{target}}/{{attack}}.log"
ADAPT_BENCHMARK = "results/benchmarks/adapt_backbone/{backbone}.tsv"
# The stages whose jobs record their wall time and memory (Snakemake's benchmark:), for costs.
BENCHMARKS = {"adapt_backbone": ADAPT_BENCHMARK, "train": TRAIN_BENCHMARK, "attack": ATTACK_BENCHMARK}


# Every stage's outputs: command-line option (``-`` as ``_``) -> path pattern. A stage whose
# patterns have no wildcard, or only ``{dataset}``, is a summary of the whole config; those
# marked ``final`` in the stage registry are the workflow's default targets.
OUTPUTS: dict[str, dict[str, str]] = {
    "download_dataset": {"out": DATASET_DOWNLOAD},
    "download_backbone": {"out": BACKBONE_DOWNLOAD},
    "download_attack_resources": {"manifest": ATTACK_MANIFEST},
    "prepare": {"out": PREPARED},
    "tokenize": {"out": TOKENIZED},
    "adapt_backbone": {"out": ADAPTED_BACKBONE},
    "check_prompts": {"out": PROMPT_CHECK},
    "train": {"model_out": MODEL, "metrics_out": METRICS},
    "evaluate": {"out": CLEAN},
    "attack": {"out": SHARD, "constraints_out": SHARD_CONSTRAINTS},
    "merge_attack": {"summary_out": SUMMARY, "records_out": RECORDS},
    "aggregate": {
        "csv": "results/tables/main.csv",
        "md": "results/tables/main.md",
        "tex": "results/tables/main.tex",
        "html": "results/tables/main.html",
        "runs": "results/tables/runs.csv",
    },
    "costs": {"out": "results/tables/costs.csv"},
    "inputs": {"csv": "results/tables/inputs.csv", "md": "results/tables/inputs.md", "html": "results/tables/inputs.html"},
    "compare": {
        "comparisons_csv": "results/tables/comparisons.csv",
        "comparisons_md": "results/tables/comparisons.md",
        "comparisons_html": "results/tables/comparisons.html",
        "published_csv": "results/tables/published.csv",
        "published_md": "results/tables/published.md",
        "published_html": "results/tables/published.html",
    },
    "plots": {"accuracy": "results/plots/accuracy.png", "success": "results/plots/attack_success.png"},
    "training_curves": {"out": "results/plots/curves/{dataset}.png"},
    "effective_robustness": {"figure": "results/plots/effective_robustness.png", "table": "results/tables/effective_robustness.csv"},
    "adversarial_examples": {"out": "results/examples/{dataset}.html"},
    "sample_efficiency": {
        "figure": "results/plots/sample_efficiency/{dataset}.png",
        "csv": "results/tables/sample_efficiency/{dataset}.csv",
        "md": "results/tables/sample_efficiency/{dataset}.md",
        "html": "results/tables/sample_efficiency/{dataset}.html",
    },
    "query_budget": {"figure": "results/plots/query_budget.png", "csv": "results/tables/query_budget.csv", "md": "results/tables/query_budget.md"},
    "adv_sweep": {"figure": "results/plots/adv_sweep.png", "csv": "results/tables/adv_sweep.csv", "md": "results/tables/adv_sweep.md"},
}

# Every stage's log: ``logs/<stage>/<the job's levels>.log`` (``logs/<stage>.log`` for a
# stage with one job).
LOGS: dict[str, str] = {
    "download_dataset": "logs/download_dataset/{dataset}.log",
    "download_backbone": "logs/download_backbone/{backbone}.log",
    "download_attack_resources": "logs/download_attack_resources.log",
    "prepare": "logs/prepare/{dataset}.log",
    "tokenize": "logs/tokenize/{dataset}/{backbone}.log",
    "adapt_backbone": "logs/adapt_backbone/{backbone}.log",
    "check_prompts": "logs/check_prompts/{dataset}/{backbone}/{method}.log",
    "train": TRAIN_LOG,
    "evaluate": EVALUATE_LOG,
    "attack": ATTACK_LOG,
    "merge_attack": MERGE_LOG,
    **{
        stage: f"logs/{stage}/{{dataset}}.log" if "{dataset}" in next(iter(OUTPUTS[stage].values())) else f"logs/{stage}.log"
        for stage in ("aggregate", "costs", "inputs", "compare", "plots", "training_curves", "effective_robustness", "adversarial_examples", "sample_efficiency", "query_budget", "adv_sweep")
    },
}


def output(stage: str, name: str | None = None) -> str:
    """The path pattern of one of ``stage``'s outputs (its only one when ``name`` is None)."""
    outputs = OUTPUTS[stage]
    if name is None:
        if len(outputs) != 1:
            raise ValueError(f"stage {stage} has outputs {sorted(outputs)}: name one")
        return next(iter(outputs.values()))
    return outputs[name]


def log(stage: str) -> str:
    return LOGS[stage]


def run_dir(run: dict[str, Any]) -> str:
    """A run's folder (``run`` has every level: see :meth:`Plan.runs`)."""
    return RUN.format(**run)


def eval_dir(run: dict[str, Any]) -> str:
    """An evaluation's folder (``run`` with its ``target``: see :meth:`Plan.evaluations`)."""
    return EVAL.format(**run)


def shard_files(run: dict[str, Any], attack: str, shards: int, suffix: str = ".jsonl") -> list[str]:
    """The shard files of one attack of one evaluation, in shard order."""
    return [f"{eval_dir(run)}/attacks/{attack}/shard-{i}{suffix}" for i in range(shards)]


def evaluation_files(evaluations: list[dict[str, Any]], attacks: list[str], *names: str) -> list[str]:
    """Files of the given evaluations, evaluation-major: ``clean`` (clean.json),
    ``attacks`` (each attack's summary) or ``records`` (each attack's records)."""
    files = []
    for run in evaluations:
        for name in names:
            if name == "clean":
                files.append(CLEAN.format(**run))
            elif name == "attacks":
                files += [SUMMARY.format(**run, attack=a) for a in attacks]
            elif name == "records":
                files += [RECORDS.format(**run, attack=a) for a in attacks]
            else:
                raise ValueError(f"unknown evaluation file {name!r}")
    return files


def benchmark_file(job: dict[str, Any]) -> str:
    """The benchmark file of one job of :meth:`Plan.benchmark_jobs`."""
    pattern = BENCHMARKS[job["rule"]]
    return pattern.format(**job)
