# Shared set-up: config validation, wildcard constraints, paths, and input/param functions.

import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

# This workflow's own folder: workflow.basedir is the folder of the Snakefile that was run,
# which is the user's project when this workflow is used as a module (README, "Use it in
# your own project"), so the folder is found from this file instead.
WORKFLOW_ROOT = Path(workflow.current_basedir).parents[1]
SRC = str(WORKFLOW_ROOT / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from mvprepro.plan import Plan, check, check_duplicate_keys, layout  # noqa: E402
from mvprepro.plan.readers import attack_resource_paths, local_settings  # noqa: E402
from mvprepro.plan.version import code_version  # noqa: E402

for _configfile in workflow.configfiles:
    check_duplicate_keys(_configfile)
validate(config, workflow.source_path("../schemas/config.schema.yaml"))
check(config)

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

# Every job's spec and files; the code version (a git commit, or the package version) is
# what the inputs table names.
PLAN = Plan(config, code_version(WORKFLOW_ROOT))
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
    """The params function of a rule: its job's spec (mvprepro.plan.Plan) as JSON.

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
        _, path = local_settings(config[section][name]["source"])
        return {"local": path} if path else {}

    return inputs


def backbone_corpus(wildcards):
    """Datasets whose text a backbone builder trains its tokenizer on."""
    return expand(
        layout.DATASET_DOWNLOAD, dataset=PLAN.backbone_corpus(wildcards.backbone)
    )


def backbone_dir(wildcards):
    """The backbone every method starts from: adapted (masked-LM adaptation) when the
    backbone has `adapt`, else as downloaded."""
    adapted = config["backbones"][wildcards.backbone].get("adapt")
    pattern = layout.ADAPTED_BACKBONE if adapted else layout.BACKBONE_DOWNLOAD
    return pattern.format(backbone=wildcards.backbone)


def adapt_corpus(wildcards):
    """Prepared datasets whose training texts a backbone's adaptation reads."""
    return expand(layout.PREPARED, dataset=PLAN.adapt_corpus(wildcards.backbone))


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
    return attack_resource_paths(config)


def local_args(wildcards, input):
    """`--local KEY=PATH` for each local attack resource (the inputs of the rule)."""
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in input.items())


def prompt_check(wildcards):
    """A prompt method's check_prompts output; nothing for the other kinds."""
    if not PLAN.uses_prompts(wildcards.method):
        return {}
    return {"prompt_check": layout.PROMPT_CHECK.format(**wildcards)}


def shard_files(suffix):
    """The shard files of one attack of one evaluation, in shard order."""

    def files(wildcards):
        return layout.shard_files(
            wildcards, wildcards.attack, PLAN.shards(wildcards.attack), suffix
        )

    return files


def published_input(wildcards):
    published = PLAN.published()
    return {"published": published} if published else {}
