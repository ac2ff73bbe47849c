"""Attack one model on one shard of the test examples, and merge shards into metrics.

Examples are the first ``num_examples`` of the test split in order (the whole split if it
is smaller), as in the paper. Shard ``i`` of ``n`` takes every example whose position ``p``
satisfies ``p % n == i``, so shards get the same mix of easy and hard examples. Each example
is attacked with its own seed (``seed + position``) and a cleared attack cache, so a row
does not depend on which shard computed it: merged shards equal an unsharded run.

Rows are appended to ``<output>.partial`` as they finish; a rerun of a killed job skips
the rows already there, and the declared output appears only when the shard is complete.
"""

from __future__ import annotations

import json
import os
import random
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import read_json, write_json_atomic, write_text_atomic


def shard_positions(total: int, shard: int, shards: int) -> list[int]:
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is outside 0..{shards - 1}")
    return [p for p in range(total) if p % shards == shard]


def _seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _read_partial(path: Path) -> dict[int, dict[str, Any]]:
    done: dict[int, dict[str, Any]] = {}
    if path.exists():
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    break  # a torn last line from a killed job: recompute that example
                done[int(row["position"])] = row
    return done


def _record(position: int, label: int, result: Any) -> dict[str, Any]:
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    original = result.original_result.attacked_text
    perturbed = result.perturbed_result.attacked_text
    if isinstance(result, SuccessfulAttackResult):
        status = "successful"
    elif isinstance(result, SkippedAttackResult):
        status = "skipped"
    elif isinstance(result, FailedAttackResult):
        status = "failed"
    else:  # MaximizedAttackResult and others never occur with these goal functions
        status = type(result).__name__
    changed = len(original.all_words_diff(perturbed)) if status == "successful" else 0
    return {
        "position": position,
        "label": int(label),
        "result": status,
        "original_text": dict(original._text_input),
        # A failed attack's last attempt is not an adversarial example: keep only successes.
        "perturbed_text": dict(perturbed._text_input) if status == "successful" else None,
        "original_output": int(result.original_result.output),
        "perturbed_output": int(result.perturbed_result.output),
        "num_queries": int(result.perturbed_result.num_queries),
        "num_words": len(original.words),
        "words_perturbed": changed,
    }


def attack_shard(spec: dict[str, Any], output: str | Path, constraints_output: str | Path) -> None:
    """Run one shard; ``spec`` is the JSON the workflow builds (see workflow/rules/common.smk)."""
    from . import resources

    resources.activate(spec["resource_dir"])
    import torch
    from datasets import load_from_disk

    from .. import models
    from ..tasks import get_task
    from . import recipes
    from .wrapper import MethodModelWrapper

    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    task = get_task(spec["task"])
    attack_cfg = spec["attack"]
    test = load_from_disk(str(Path(spec["data_dir"]) / "data"))["test"]
    total = min(int(attack_cfg["num_examples"]), len(test))
    positions = shard_positions(total, int(spec["shard"]), int(spec["shards"]))
    done = _read_partial(partial)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = models.load(spec["model_dir"]).to(device)
    wrapper = MethodModelWrapper(model, len(task.text_columns), int(model.spec["prompt_reserve"]), int(attack_cfg.get("model_batch_size", 32)))
    attack, report = recipes.build(spec["attack_name"], attack_cfg, wrapper, task, spec["resource_dir"])
    print(attack, flush=True)

    from tqdm import tqdm

    base_seed = int(attack_cfg.get("seed", 0))
    with open(partial, "a", encoding="utf-8") as fh:
        for position in tqdm(positions, desc=f"{spec['attack_name']} shard {spec['shard']}", mininterval=5):
            if position in done:
                continue
            example = test[position]
            text = OrderedDict((c, example[c]) for c in task.text_columns)
            _seed_all(base_seed + position)
            attack.clear_cache()
            result = attack.attack(text if len(text) > 1 else text[task.text_columns[0]], int(example["label"]))
            row = _record(position, example["label"], result)
            fh.write(json.dumps(row, sort_keys=True) + "\n")
            fh.flush()
            done[position] = row
    rows = [done[p] for p in positions]
    write_json_atomic(constraints_output, report)
    write_text_atomic(output, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    os.unlink(partial)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of one model under one attack, in percent, as TextAttack defines them."""
    n = len(rows)
    counts = {k: sum(r["result"] == k for r in rows) for k in ("successful", "failed", "skipped")}
    attacked = counts["successful"] + counts["failed"]
    succ = [r for r in rows if r["result"] == "successful"]
    return {
        "num_examples": n,
        **{f"num_{k}": v for k, v in counts.items()},
        # Skipped examples were misclassified before any change, so they count as errors.
        "clean_accuracy": 100.0 * attacked / n if n else float("nan"),
        "robust_accuracy": 100.0 * counts["failed"] / n if n else float("nan"),
        "attack_success_rate": 100.0 * counts["successful"] / attacked if attacked else 0.0,
        "mean_words_perturbed_pct": float(np.mean([100.0 * r["words_perturbed"] / max(r["num_words"], 1) for r in succ])) if succ else 0.0,
        "mean_queries": float(np.mean([r["num_queries"] for r in rows if r["result"] != "skipped"])) if attacked else 0.0,
    }


def merge(
    shard_files: list[str], constraint_files: list[str], spec: dict[str, Any], summary_out: str | Path, records_out: str | Path
) -> None:
    rows: list[dict[str, Any]] = []
    for f in shard_files:
        with open(f, encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    rows.sort(key=lambda r: r["position"])
    positions = [r["position"] for r in rows]
    if positions != list(range(len(rows))):
        raise RuntimeError(f"shards do not cover examples 0..{len(rows) - 1} exactly once")
    reports = [read_json(f) for f in constraint_files]
    summary = {**summarise(rows), "attack": spec["attack_name"], "constraints": reports[0], "spec": spec}
    write_text_atomic(records_out, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    write_json_atomic(summary_out, summary)

