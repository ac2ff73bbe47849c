# Shared set-up: config validation, wildcard constraints, paths, and input/param functions.

import json
import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from mvprepro import config as cfg  # noqa: E402

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

DATASETS = list(config["datasets"])
BACKBONES = list(config["backbones"])
METHODS = list(config["methods"])
SEEDS = [int(s) for s in config["seeds"]]
ATTACKS = list(config["attacks"])

RUN = "results/runs/{dataset}/{backbone}/{method}/seed-{seed}"


wildcard_constraints:
    dataset="|".join(map(re.escape, DATASETS)),
    backbone="|".join(map(re.escape, BACKBONES)),
    method="|".join(map(re.escape, METHODS)),
    attack="|".join(map(re.escape, ATTACKS)) if ATTACKS else "(?!)",
    seed=r"\d+",
    shard=r"\d+",


# Label words must be single tokens of the backbone: checked as soon as its tokenizer is
# local, i.e. before any training job of a run after the download has happened.
for _backbone in BACKBONES:
    _dir = Path("resources/backbones") / _backbone
    if (_dir / "source.json").exists():
        cfg.check_verbalizers(config, _backbone, _dir)


def resources_for(rule_name, key, default):
    """A portable resource (gpu, mem_mb, runtime) for a rule, from config['resources'].

    The rules multiply runtime by Snakemake's attempt number, so a job that hit its time
    limit is resubmitted with more time when a profile sets `retries` (profiles/slurm).
    """
    return config.get("resources", {}).get(rule_name, {}).get(key, default)


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def json_arg(obj):
    """Shell-quote a JSON spec for the command line."""
    import shlex

    return shlex.quote(as_json(obj))


def run_paths(w):
    run = RUN.format(**w)
    return {
        "backbone_dir": f"resources/backbones/{w.backbone}",
        "tokenized_dir": f"results/tokenized/{w.dataset}/{w.backbone}",
        "data_dir": f"results/data/{w.dataset}",
        "model_dir": f"{run}/model",
        "resource_dir": "resources/attack",
    }


def backbone_corpus(w):
    """Inputs a backbone builder trains its tokenizer on: datasets and their prompt files."""
    source = config["backbones"][w.backbone]["source"]
    if "builder" not in source:
        return []
    names = source.get("corpus_datasets", DATASETS)
    prompts = sorted({config["datasets"][d]["prompts"] for d in names})
    return [f"resources/datasets/{d}" for d in names] + prompts


def shard_files(w, suffix):
    n = int(config["attacks"][w.attack]["shards"])
    return [f"{RUN}/attacks/{{attack}}/shard-{i}{suffix}".format(**w) for i in range(n)]


def all_runs():
    runs = []
    for d in DATASETS:
        for b in BACKBONES:
            for m in METHODS:
                for s in SEEDS:
                    run = RUN.format(dataset=d, backbone=b, method=m, seed=s)
                    runs.append(
                        {
                            "dataset": d,
                            "backbone": b,
                            "method": m,
                            "seed": s,
                            "clean": f"{run}/clean.json",
                            "attacks": {a: f"{run}/attacks/{a}.json" for a in ATTACKS},
                        }
                    )
    return runs


def aggregate_inputs(wildcards):
    files = []
    for run in all_runs():
        files.append(run["clean"])
        files.extend(run["attacks"].values())
    return files


def benchmark_jobs():
    """Every train and attack job's benchmark file, with the job's wildcards."""
    jobs = []
    for run in all_runs():
        key = {k: run[k] for k in ("dataset", "backbone", "method", "seed")}
        path = "{dataset}/{backbone}/{method}/seed-{seed}".format(**key)
        jobs.append(
            {
                "rule": "train",
                **key,
                "attack": "",
                "shard": "",
                "benchmark": f"results/benchmarks/train/{path}.tsv",
            }
        )
        for attack in ATTACKS:
            for shard in range(int(config["attacks"][attack]["shards"])):
                jobs.append(
                    {
                        "rule": "attack",
                        **key,
                        "attack": attack,
                        "shard": shard,
                        "benchmark": f"results/benchmarks/attack/{path}/{attack}-{shard}.tsv",
                    }
                )
    return jobs


def dataset_runs(dataset):
    """The runs of one dataset, with their training metrics and attack records."""
    runs = []
    for run in all_runs():
        if run["dataset"] != dataset:
            continue
        path = RUN.format(**run)
        runs.append(
            {
                **{k: run[k] for k in ("dataset", "backbone", "method", "seed")},
                "metrics": f"{path}/metrics.json",
                "records": {a: f"{path}/attacks/{a}.records.jsonl" for a in ATTACKS},
            }
        )
    return runs


REPORT = config["report"]
# The (method, baseline) pairs of the comparison table; checked by cfg.check above.
COMPARISONS = cfg.comparison_pairs(REPORT, METHODS)


def published_input(wildcards):
    return [REPORT["published"]] if REPORT["published"] else []


TABLES = [
    f"results/tables/{name}.{ext}"
    for name, exts in (
        ("main", ("csv", "md", "tex", "html")),
        ("runs", ("csv",)),
        ("costs", ("csv",)),
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
]
