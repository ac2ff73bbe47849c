"""``mvprepro``: one sub-command per pipeline stage, and the tools a user runs by hand.

Stage commands are declared in :mod:`mvprepro.stages`; tools (:mod:`mvprepro.tools`) in
:data:`TOOLS` below. ``mvprepro --help`` lists both, apart.

The Snakemake rules call these commands with a JSON ``--spec`` holding the settings of the
job (built by :class:`mvprepro.plan.Plan`, and recorded by Snakemake as the job's params)
and one option per file the job reads or writes, taken from the rule's ``input:`` and
``output:``. Settings and files never mix: no path is read from a spec. The same commands
work by hand, with ``--spec @file.json``.

Only the ``download-*`` commands may use the network; every other command switches the
Hugging Face libraries to offline mode before importing them, so a compute node without
internet behaves exactly like one with it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from .stages import BY_COMMAND, STAGES, Stage, gpu_stages, online_commands
from .startup import skip_unused_imports

# Tools a user runs by hand, each a module of mvprepro.tools with its own ``main(argv)`` and
# options (``mvprepro <tool> --help``). No stage imports them, so editing one reruns nothing.
TOOLS = {
    "lock": ("mvprepro.tools.lock", "pin a config's inputs to what its downloads resolved to (a config overlay)"),
    "bench": ("mvprepro.tools.bench", "benchmarks: training steps, attack queries, CPU paths, agreement of two runs, docs"),
    "migrate-layout": ("mvprepro.tools.migrate", "move results written by the previous results layout (no rerun)"),
}

# Both derived from the stage registry (mvprepro.stages).
ONLINE_COMMANDS = online_commands()
# Stages that may run on a GPU: on a multi-GPU workstation each takes one device of its
# own (see mvprepro.gpu) unless its spec pins the CPU.
GPU_COMMANDS = {STAGES[name].command for name in gpu_stages()}


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


def _parser() -> argparse.ArgumentParser:
    width = max(map(len, TOOLS)) + 2
    tools = "\n".join(f"  {name:<{width}}{help}" for name, (_, help) in TOOLS.items())
    p = argparse.ArgumentParser(
        prog="mvprepro",
        description="Reproduce MVP (arXiv 2303.07320) and go further: the commands of the pipeline's stages and its tools.",
        epilog=f"tools (run by hand; mvprepro <tool> --help):\n{tools}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, title="stage commands (the workflow's rules call these; mvprepro <command> --help)", metavar="<command>")
    for stage in STAGES.values():
        s = sub.add_parser(stage.command, help=stage.help)
        s.add_argument("--spec", type=_spec, required=True, help="JSON settings (or @file.json)")
        for f in stage.files:
            s.add_argument(f"--{f}", required=True)
        for f in stage.many:
            s.add_argument(f"--{f}", nargs="*", default=[])
        for f in stage.optional:
            s.add_argument(f"--{f}")
    return p


def run(stage: Stage, args: argparse.Namespace) -> None:
    """Call the stage's function with its spec and one keyword argument per file option."""
    files = {f.replace("-", "_"): getattr(args, f.replace("-", "_")) for f in stage.options}
    stage.function()(spec=args.spec, **files)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in TOOLS:  # a tool has its own options (mvprepro <tool> --help)
        if argv[0] == "bench":  # benchmarks build their models offline
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return int(importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    skip_unused_imports()  # a faster start for every job (mvprepro.startup)
    if args.command not in ONLINE_COMMANDS:
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[var] = "1"
    if args.command in GPU_COMMANDS and _device_preference(args.spec) != "cpu":
        from .gpu import claim_device

        claim_device()
    run(BY_COMMAND[args.command], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
