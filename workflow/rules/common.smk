# Shared set-up: config validation, wildcard constraints, paths, and input/param functions.

import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from mvprepro import config as cfg  # noqa: E402
from mvprepro.config import layout  # noqa: E402
from mvprepro.config.version import code_version  # noqa: E402

for _configfile in workflow.configfiles:
    cfg.check_duplicate_keys(_configfile)
validate(config, workflow.source_path("../schemas/config.schema.yaml"))
cfg.check(config)

# Jobs run the package from the workflow's own source tree (`python -m mvprepro`), so a
# conda env only needs the third-party packages and the code that runs is always the code
# of this checkout. Without --use-conda, `python` is the interpreter running Snakemake
# (e.g. .venv/bin/snakemake works without activating .venv); with it, conda's activation
# puts the rule's env first. Jobs inherit this environment, also when Snakemake reruns
# itself inside a cluster job.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH", "")) if p),
    PATH=os.pathsep.join(
        (str(Path(sys.executable).parent), os.environ.get("PATH", ""))
    ),
)


def gpu_slots():
    """Devices local GPU jobs may take, one each (src/mvprepro/gpu.py), or [] if none.

    `--resources gpu=N` (or profiles/default's count of this machine's GPUs) caps how many
    GPU jobs run at once; these slots tell each job which device is free. The devices are
    those in CUDA_VISIBLE_DEVICES if set, else 0..N-1. Only a local run of the main
    Snakemake process hands out slots: a cluster (Slurm --gpus) gives each job its own
    device already, and a job inside a cluster allocation must keep the device it got.
    """
    if not (workflow.is_main_process and workflow.local_exec):
        return []
    n = workflow.global_resources.get("gpu").value
    if not isinstance(n, int) or n < 1:
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip()][:n]
    return [str(i) for i in range(n)]


if gpu_slots():
    os.environ.update(MVPREPRO_GPU_SLOTS=",".join(gpu_slots()))

PLAN = cfg.Plan(config)
DATASETS, BACKBONES, METHODS = PLAN.datasets, PLAN.backbones, PLAN.methods
# The adversarial-budget sweep's extra runs (adv_sweep): method names like mlp_ft_adv-eps0.1.
SWEEP_METHODS = list(PLAN.sweep_variants)
SEEDS, ATTACKS = PLAN.seeds, PLAN.attacks
ALL_DATASETS = "|".join(map(re.escape, PLAN.all_datasets))


wildcard_constraints:
    dataset=ALL_DATASETS,
    target=ALL_DATASETS,
    backbone="|".join(map(re.escape, BACKBONES)),
    method="|".join(map(re.escape, METHODS + SWEEP_METHODS)),
    attack="|".join(map(re.escape, ATTACKS)) if ATTACKS else "(?!)",
    seed=r"\d+",
    size=r"[^/]+",
    shard=r"\d+",


def spec(stage):
    """The params function of a rule: its job's spec (mvprepro.config.specs) as JSON.

    The spec is the only params entry: the settings the job runs with and the provenance
    digest of what it was built from, so Snakemake reruns a job exactly when either changes.
    """

    def params(wildcards):
        keys = {k: v for k, v in wildcards.items()}
        for key in ("seed", "shard"):
            if key in keys:
                keys[key] = int(keys[key])
        return PLAN.as_params(getattr(PLAN, stage)(**keys))

    return params


def resources_for(rule_name, key):
    """A portable resource (gpu, mem_mb, runtime, threads) of a rule; defaults in the schema.

    The rules multiply runtime by Snakemake's attempt number, so a job that hit its time
    limit is resubmitted with more time when a profile sets `retries` (profiles/slurm).
    """
    return config["resources"][rule_name][key]


# ---------------------------------------------------------------- input functions


def local_source(section):
    """The local file or folder of a `path:` source (dataset or backbone), else nothing."""

    def inputs(wildcards):
        name = wildcards.get("dataset") or wildcards.get("backbone")
        _, path = cfg.specs.local_settings(config[section][name]["source"])
        return {"local": path} if path else {}

    return inputs


def backbone_corpus(wildcards):
    """Datasets whose text a backbone builder trains its tokenizer on."""
    return [f"resources/datasets/{d}" for d in PLAN.backbone_corpus(wildcards.backbone)]


def backbone_dir(wildcards):
    """The backbone every method starts from: adapted (masked-LM adaptation) when the
    backbone has `adapt`, else as downloaded."""
    root = (
        "adapted"
        if config["backbones"][wildcards.backbone].get("adapt")
        else "backbones"
    )
    return f"resources/{root}/{wildcards.backbone}"


def adapt_corpus(wildcards):
    """Prepared datasets whose training texts a backbone's adaptation reads."""
    return [f"results/data/{d}" for d in PLAN.adapt_corpus(wildcards.backbone)]


def optional_input_flag(name, flag):
    """A params function: `FLAG PATH` for the optional input `name` (added by an unpacked
    input function only when it applies, e.g. a local source), else nothing."""

    def params(wildcards, input):
        return (
            f"{flag} {shlex.quote(getattr(input, name))}"
            if hasattr(input, name)
            else ""
        )

    return params


def attack_resource_locals(wildcards):
    return cfg.specs.attack_resource_paths(config)


def local_args(wildcards, input):
    """`--local KEY=PATH` for each local attack resource (the inputs of the rule)."""
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in input.items())


def prompt_check(wildcards):
    """A prompt method's check_prompts output; nothing for the other kinds."""
    if not PLAN.uses_prompts(wildcards.method):
        return {}
    return {
        "prompt_check": "results/prompts/{dataset}/{backbone}/{method}.json".format(
            **wildcards
        )
    }


def shard_files(suffix):
    """The shard files of one attack of one evaluation, in shard order."""

    def files(wildcards):
        return layout.shard_files(
            wildcards, wildcards.attack, PLAN.shards(wildcards.attack), suffix
        )

    return files


REPORT = config["report"]
# The code the results are made with (a git commit, or the package version): the inputs table.
CODE_VERSION = code_version(workflow.basedir)
# The (method, baseline) pairs of the comparison table; checked by cfg.check above.
COMPARISONS = tuple(tuple(p) for p in cfg.comparison_pairs(REPORT, METHODS))


def published_input(wildcards):
    return {"published": REPORT["published"]} if REPORT["published"] else {}


TABLES = [
    f"results/tables/{name}.{ext}"
    for name, exts in (
        ("main", ("csv", "md", "tex", "html")),
        ("runs", ("csv",)),
        ("costs", ("csv",)),
        ("inputs", ("csv", "md", "html")),
        ("comparisons", ("csv", "md", "html")),
        ("published", ("csv", "md", "html")),
    )
    for ext in exts
]
FIGURES = [
    "results/plots/accuracy.png",
    "results/plots/attack_success.png",
    *[f"results/plots/curves/{d}.png" for d in DATASETS],
    *[f"results/examples/{d}.html" for d in DATASETS],
    *(
        [
            "results/plots/effective_robustness.png",
            "results/tables/effective_robustness.csv",
        ]
        if PLAN.evaluations(own=False)
        else []
    ),
    *(
        [
            "results/plots/adv_sweep.png",
            "results/tables/adv_sweep.csv",
            "results/tables/adv_sweep.md",
        ]
        if PLAN.sweep_points()
        else []
    ),
    *(
        [
            "results/plots/query_budget.png",
            "results/tables/query_budget.csv",
            "results/tables/query_budget.md",
        ]
        if PLAN.budget_attacks()
        else []
    ),
    *[
        f"results/{kind}/sample_efficiency/{d}.{ext}"
        for d in PLAN.sized_datasets()
        for kind, ext in (
            ("plots", "png"),
            ("tables", "csv"),
            ("tables", "md"),
            ("tables", "html"),
        )
    ],
]
