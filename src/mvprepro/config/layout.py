"""Where every job's files live: the results layout, written once.

The rules (``workflow/rules/*.smk``) take their output patterns from here and their input
functions ask :class:`mvprepro.config.Plan` for the runs, which turns them into paths with
the functions below; ``mvprepro migrate-layout`` moves results written by the previous layout.

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

# Per-job logs and benchmark files (rule name first, then the job's levels).
TRAIN_LOG = f"logs/train/{JOB}.log"
TRAIN_BENCHMARK = f"results/benchmarks/train/{JOB}.tsv"
EVALUATE_LOG = f"logs/evaluate/{JOB}/eval-{{target}}.log"
ATTACK_LOG = f"logs/attack/{JOB}/eval-{{target}}/{{attack}}-{{shard}}.log"
ATTACK_BENCHMARK = f"results/benchmarks/attack/{JOB}/eval-{{target}}/{{attack}}-{{shard}}.tsv"
MERGE_LOG = f"logs/merge_attack/{JOB}/eval-{{target}}/{{attack}}.log"
ADAPT_BENCHMARK = "results/benchmarks/adapt_backbone/{backbone}.tsv"


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
    pattern = {"adapt_backbone": ADAPT_BENCHMARK, "train": TRAIN_BENCHMARK, "attack": ATTACK_BENCHMARK}[job["rule"]]
    return pattern.format(**job)
