"""``mvprepro``: one sub-command per pipeline stage.

The Snakemake rules call these commands with a JSON ``--spec`` holding exactly the slice of
the config the stage depends on (Snakemake compares it between runs to decide what to
rerun). The same commands work by hand, with ``--spec @file.json``.

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
GPU_COMMANDS = {"train", "evaluate", "attack"}


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
    """The device a stage's spec asks for: train nests it under "training", evaluate has it
    at the top, attack has none (it uses CUDA when present)."""
    return str(spec.get("device") or spec.get("training", {}).get("device") or "auto")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mvprepro", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("download-dataset", help="fetch a dataset (hub, local path or builder) into resources/")
    s.add_argument("--name", required=True)
    s.add_argument("--source", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("download-backbone", help="fetch a backbone (tokenizer + MLM weights) into resources/")
    s.add_argument("--name", required=True)
    s.add_argument("--source", type=_spec, required=True)
    s.add_argument("--corpus", nargs="*", default=[], help="datasets/prompt files a builder trains its tokenizer on")
    s.add_argument("--out", required=True)

    s = sub.add_parser("download-attack-resources", help="fetch embeddings, NLTK data, sentence encoders")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("prepare", help="apply the task's split protocol")
    s.add_argument("--raw", required=True)
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("tokenize", help="encode the splits for a backbone")
    s.add_argument("--data", required=True)
    s.add_argument("--backbone", required=True)
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("train", help="fine-tune one method with one seed")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--model-out", required=True)
    s.add_argument("--metrics-out", required=True)

    s = sub.add_parser("evaluate", help="clean accuracy on the test split")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("attack", help="attack one shard of the test examples")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--constraints-out", required=True)

    s = sub.add_parser("merge-attack", help="merge attack shards into metrics")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--shards", nargs="+", required=True)
    s.add_argument("--constraints", nargs="+", required=True)
    s.add_argument("--summary-out", required=True)
    s.add_argument("--records-out", required=True)

    s = sub.add_parser("costs", help="per-job wall time and memory from benchmark files")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("aggregate", help="build the results tables")
    s.add_argument("--spec", type=_spec, required=True)
    for name in ("csv", "md", "tex", "html", "runs"):
        s.add_argument(f"--{name}", required=True)

    s = sub.add_parser("compare", help="paired comparisons between methods, and ours beside published numbers")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--runs", required=True, help="the long-format runs.csv written by aggregate")
    for name in ("comparisons-csv", "comparisons-md", "comparisons-html", "published-csv", "published-md", "published-html"):
        s.add_argument(f"--{name}", required=True)

    s = sub.add_parser("plot", help="accuracy and attack-success figures (PNG)")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--runs", required=True, help="the long-format runs.csv written by aggregate")
    s.add_argument("--accuracy", required=True)
    s.add_argument("--success", required=True)

    s = sub.add_parser("curves", help="training curves of one dataset's runs (PNG)")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)

    s = sub.add_parser("examples", help="successful adversarial examples of one dataset (HTML)")
    s.add_argument("--spec", type=_spec, required=True)
    s.add_argument("--out", required=True)
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
    cmd = args.command
    if cmd in GPU_COMMANDS and _device_preference(args.spec) != "cpu":
        from .gpu import claim_device

        claim_device()
    if cmd == "download-dataset":
        from .sources import fetch_dataset

        fetch_dataset(args.source, args.out, args.name)
    elif cmd == "download-backbone":
        from .sources import fetch_backbone

        fetch_backbone(args.source, args.out, args.name, corpus=args.corpus)
    elif cmd == "download-attack-resources":
        from .attack import resources

        resources.fetch(args.spec, args.out)
    elif cmd == "prepare":
        from .data import prepare

        prepare(args.raw, args.out, args.spec)
    elif cmd == "tokenize":
        from .data import tokenize

        tokenize(args.data, args.backbone, args.out, args.spec)
    elif cmd == "train":
        from .train import train

        train(args.spec, args.model_out, args.metrics_out)
    elif cmd == "evaluate":
        from .train import evaluate

        evaluate(args.spec, args.model, args.out)
    elif cmd == "attack":
        from .attack.run import attack_shard

        attack_shard(args.spec, args.out, args.constraints_out)
    elif cmd == "merge-attack":
        from .attack.run import merge

        merge(args.shards, args.constraints, args.spec, args.summary_out, args.records_out)
    elif cmd == "costs":
        from .aggregate import cost_table

        cost_table(args.spec, args.out)
    elif cmd == "aggregate":
        from .aggregate import aggregate

        aggregate(args.spec, {k: getattr(args, k) for k in ("csv", "md", "tex", "html", "runs")})
    elif cmd == "compare":
        from .compare import compare

        names = ("comparisons_csv", "comparisons_md", "comparisons_html", "published_csv", "published_md", "published_html")
        compare(args.spec, args.runs, {k: getattr(args, k) for k in names})
    elif cmd == "plot":
        from .plots import plot

        plot(args.spec, args.runs, {"accuracy": args.accuracy, "success": args.success})
    elif cmd == "curves":
        from .plots import curves_plot

        curves_plot(args.spec["runs"], args.spec["dataset"], args.spec["methods"], args.out)
    elif cmd == "examples":
        from .examples import examples_page

        examples_page(args.spec, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
