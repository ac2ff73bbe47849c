"""``mvprepro``: one sub-command per pipeline stage.

The Snakemake rules call these commands with a JSON ``--spec`` holding the settings of the
job (built by :class:`mvprepro.config.Plan`, and recorded by Snakemake as the job's params)
and one option per file the job reads or writes, taken from the rule's ``input:`` and
``output:``. Settings and files never mix: no path is read from a spec. The same commands
work by hand, with ``--spec @file.json``.

Only the ``download-*`` commands may use the network; every other command switches the
Hugging Face libraries to offline mode before importing them, so a compute node without
internet behaves exactly like one with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ONLINE_COMMANDS = {"download-dataset", "download-backbone", "download-attack-resources"}
# Stages that may run on a GPU: on a multi-GPU workstation each takes one device of its
# own (see mvprepro.gpu) unless its spec pins the CPU.
GPU_COMMANDS = {"adapt-backbone", "train", "evaluate", "attack"}


def _spec(value: str) -> dict[str, Any]:
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"--spec is not valid JSON: {err}") from None
    if not isinstance(spec, dict):
        raise argparse.ArgumentTypeError("--spec must be a JSON object")
    return spec


def _device_preference(spec: dict[str, Any]) -> str:
    """The device a stage's spec asks for: train nests it under "training", evaluate and
    attack have it at the top."""
    return str(spec.get("device") or spec.get("training", {}).get("device") or "auto")


def _local(value: str) -> tuple[str, str]:
    key, sep, path = value.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"--local takes KEY=PATH, not {value!r}")
    return key, path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mvprepro", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def stage(name: str, text: str, *files: str, many: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        """A sub-command taking ``--spec`` (settings) and one option per file it reads or writes."""
        s = sub.add_parser(name, help=text)
        s.add_argument("--spec", type=_spec, required=True, help="JSON settings (or @file.json)")
        for f in files:
            s.add_argument(f"--{f}", required=True)
        for f in many:
            s.add_argument(f"--{f}", nargs="*", default=[])
        for f in optional:
            s.add_argument(f"--{f}")
        return s

    stage("download-dataset", "fetch a dataset (hub, local path or builder) into resources/", "out", optional=("local",))
    stage("download-backbone", "fetch a backbone (tokenizer + LM weights)", "out", many=("corpus",), optional=("local",))
    stage("adapt-backbone", "continue masked-LM training of a backbone on training texts", "backbone", "out", many=("data",))
    s = stage("download-attack-resources", "fetch embeddings, NLTK data, sentence encoders", "manifest")
    s.add_argument("--local", type=_local, nargs="*", default=[], help="KEY=PATH for each local source")
    stage("prepare", "apply the task's split protocol", "raw", "out")
    stage("tokenize", "encode the splits for a backbone", "data", "backbone", "out")
    stage("check-prompts", "check a prompt method's templates and label words on the backbone", "backbone", "out")
    stage("train", "fine-tune one method with one seed", "tokenized", "backbone", "model-out", "metrics-out", optional=("prompt-check",))
    stage("evaluate", "clean accuracy on the test split", "model", "tokenized", "out")
    stage("attack", "attack one shard of the test examples", "model", "data", "manifest", "out", "constraints-out")
    stage("merge-attack", "merge attack shards into metrics", "summary-out", "records-out", many=("shards", "constraints"))
    stage("costs", "per-job wall time and memory from benchmark files", "out", many=("benchmarks",))
    stage("aggregate", "build the results tables", "csv", "md", "tex", "html", "runs", many=("clean", "attacks", "ood-clean", "ood-attacks"))
    stage(
        "compare",
        "paired comparisons between methods, and ours beside published numbers",
        "runs",
        "comparisons-csv",
        "comparisons-md",
        "comparisons-html",
        "published-csv",
        "published-md",
        "published-html",
        optional=("published",),
    )
    stage("plot", "accuracy and attack-success figures (PNG)", "runs", "accuracy", "success")
    stage("ood", "in- vs out-of-distribution accuracy: effective robustness (CSV, PNG)", "runs", "figure", "table")
    stage("efficiency", "accuracy against training-set size of one dataset (PNG, CSV, MD, HTML)", "runs", "figure", "csv", "md", "html", many=("metrics",))
    stage("adv-sweep", "accuracy against the adversarial budget (PNG, CSV, MD)", "figure", "csv", "md", many=("metrics", "clean", "attacks"))
    stage("curves", "training curves of one dataset's runs (PNG)", "out", many=("metrics",))
    stage("examples", "successful adversarial examples of one dataset (HTML)", "out", many=("records",))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # benchmarks have their own options (mvprepro bench --help)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from .bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command not in ONLINE_COMMANDS:
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[var] = "1"
    cmd, spec = args.command, args.spec
    if cmd in GPU_COMMANDS and _device_preference(spec) != "cpu":
        from .gpu import claim_device

        claim_device()
    if cmd == "download-dataset":
        from .download.sources import fetch_dataset

        fetch_dataset(spec["source"], args.out, spec["name"], local=args.local)
    elif cmd == "download-backbone":
        from .download.sources import fetch_backbone

        fetch_backbone(spec["source"], args.out, spec["name"], corpus=args.corpus, local=args.local)
    elif cmd == "adapt-backbone":
        from .train.adapt import adapt

        adapt(args.backbone, args.data, args.out, spec)
    elif cmd == "download-attack-resources":
        from .download.attack_resources import fetch

        fetch(spec, args.manifest, dict(args.local))
    elif cmd == "prepare":
        from .data.prepare import prepare

        prepare(args.raw, args.out, spec)
    elif cmd == "tokenize":
        from .data.tokenize import tokenize

        tokenize(args.data, args.backbone, args.out, spec)
    elif cmd == "check-prompts":
        from .train.check import check_prompts

        check_prompts(spec, args.backbone, args.out)
    elif cmd == "train":
        from .train.finetune import train

        train(spec, args.tokenized, args.backbone, args.model_out, args.metrics_out, prompt_check=args.prompt_check)
    elif cmd == "evaluate":
        from .train.evaluate import evaluate

        evaluate(spec, args.model, args.tokenized, args.out)
    elif cmd == "attack":
        from .attack.run import attack_shard

        attack_shard(spec, args.model, args.data, args.manifest, args.out, args.constraints_out)
    elif cmd == "merge-attack":
        from .attack.merge import merge

        merge(args.shards, args.constraints, spec, args.summary_out, args.records_out)
    elif cmd == "costs":
        from .aggregate.costs import cost_table

        cost_table(spec, args.benchmarks, args.out)
    elif cmd == "aggregate":
        from .aggregate.tables import aggregate

        outputs = {k: getattr(args, k) for k in ("csv", "md", "tex", "html", "runs")}
        aggregate(spec, args.clean, args.attacks, outputs, args.ood_clean, args.ood_attacks)
    elif cmd == "compare":
        from .report.compare import compare

        names = ("comparisons_csv", "comparisons_md", "comparisons_html", "published_csv", "published_md", "published_html")
        compare(spec, args.runs, args.published, {k: getattr(args, k) for k in names})
    elif cmd == "ood":
        from .report.ood import ood_report

        ood_report(spec, args.runs, args.figure, args.table)
    elif cmd == "efficiency":
        from .report.efficiency import sample_efficiency

        outputs = {k: getattr(args, k) for k in ("figure", "csv", "md", "html")}
        sample_efficiency(spec, args.runs, args.metrics, outputs)
    elif cmd == "plot":
        from .report.plots import plot

        plot(spec, args.runs, {"accuracy": args.accuracy, "success": args.success})
    elif cmd == "adv-sweep":
        from .report.adv_sweep import adv_sweep

        adv_sweep(spec, args.metrics, args.clean, args.attacks, {k: getattr(args, k) for k in ("figure", "csv", "md")})
    elif cmd == "curves":
        from .report.plots import curves_plot

        curves_plot(spec, args.metrics, args.out)
    elif cmd == "examples":
        from .report.examples import examples_page

        examples_page(spec, args.records, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
